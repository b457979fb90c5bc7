import { type ChildProcess, fork } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EspeakOptions } from './espeak.js';

const here = fileURLToPath(import.meta.url);

/** phonemizer-child next to this file, in the same form (.ts or .js) as this file. */
export function defaultPhonemizerModule(): string {
  return join(dirname(here), `phonemizer-child${extname(here)}`);
}

/** The child runs the same way we do: TypeScript through tsx's loader, compiled JavaScript as is. */
function execArgvFor(module: string): string[] {
  return module.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

/** Starts one phonemizer process (IPC, JSON serialization); espeak-ng options travel in its environment. */
export function forkPhonemizer(module: string, options: EspeakOptions): ChildProcess {
  return fork(module, [], {
    execArgv: execArgvFor(module),
    env: { ...process.env, VO_PHONEMIZER_OPTIONS: JSON.stringify({ library: options.library, dataPath: options.dataPath }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
}
