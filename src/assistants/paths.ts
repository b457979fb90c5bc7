import { homedir } from 'node:os';
import { isAbsolute, resolve, sep } from 'node:path';

/** Where a path the user wrote points, and how to show it without revealing the home folder. */
export interface Located {
  absolute: string;
  shown: string;
}

export function homeOf(env: NodeJS.ProcessEnv): string {
  const home = env['HOME'];
  return home && home.length > 0 ? home : homedir();
}

/** Resolves `~` / `~/...` to the home folder and relative paths from `base`. */
export function locate(given: string, base: string, env: NodeJS.ProcessEnv): Located {
  const home = homeOf(env);
  const expanded = given === '~' ? home : given.startsWith('~/') ? `${home}/${given.slice(2)}` : given;
  const absolute = isAbsolute(expanded) ? resolve(expanded) : resolve(base, expanded);
  return { absolute, shown: shownPath(given, absolute, home) };
}

/** As the user gave it, except that an absolute path inside the home folder is shown as `~/...`. */
export function shownPath(given: string, absolute: string, home: string): string {
  if (!isAbsolute(given)) return given;
  if (absolute === home) return '~';
  if (home.length > 1 && absolute.startsWith(home + sep)) return `~/${absolute.slice(home.length + 1)}`;
  return given;
}
