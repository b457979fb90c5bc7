import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { Logger } from '../ops/logger.js';

/**
 * The module agents-js forks each job process (one per room) with.
 *
 * Run from TypeScript (tsx), a job process would load tsx's loader too: about 70 MB more per
 * process and 0.7 s more to start (measured: importing the job costs 235 MB RSS through tsx, 157 MB
 * as JavaScript). So the job module and the project files it imports are bundled once, at start,
 * into `dir` (packages stay where they are, imported by absolute URL), and the tsx flags are
 * taken out of the arguments the job processes inherit. Compiled JavaScript is returned as is;
 * if bundling fails, the jobs run through tsx as before.
 */
export async function jobEntry(source: string, dir: string, logger: Logger): Promise<string> {
  if (!source.endsWith('.ts')) return source;
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'job.mjs');
    const started = performance.now();
    await esbuild.build({
      entryPoints: [source],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // for --enable-source-maps; unused otherwise
      sourcemap: 'external',
      logLevel: 'silent',
      plugins: [
        {
          name: 'packages-in-place',
          setup(build) {
            build.onResolve({ filter: /^[^./]/ }, ({ path }) =>
              isBuiltin(path) ? { path, external: true } : { path: import.meta.resolve(path), external: true },
            );
          },
        },
      ],
    });
    dropTsxFlags(process.execArgv);
    logger.debug({ ms: Math.round(performance.now() - started) }, 'job module bundled: job processes run JavaScript');
    return outfile;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not bundle the job module: job processes run TypeScript through tsx (about 70 MB more each)');
    return source;
  }
}

/** Removes tsx's `--import` / `--require` hooks (as `tsx` and `node --import tsx` add them) from `argv`, in place. */
export function dropTsxFlags(argv: string[]): void {
  const isTsx = (value: string | undefined) => value !== undefined && (value === 'tsx' || /[\\/]tsx[\\/]/.test(value));
  for (let i = argv.length - 1; i >= 0; i--) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--import' && flag !== '--require' && flag !== '-r' && flag !== '--loader') continue;
    if (inline !== undefined ? isTsx(inline) : isTsx(argv[i + 1])) argv.splice(i, inline !== undefined ? 1 : 2);
  }
}
