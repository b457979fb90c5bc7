import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { Logger } from '../ops/logger.js';

/** What a job process runs: the room host program and the job module it loads. */
export interface JobModules {
  host: string;
  job: string;
}

/**
 * The job process's modules.
 *
 * Run from TypeScript (tsx), a job process would load tsx's loader too: about 70 MB more per
 * process and 0.7 s more to start (measured: importing the job costs 235 MB RSS through tsx, 157 MB
 * as JavaScript). So both modules and the project files they import are bundled once, at start,
 * into `dir` (packages stay where they are, imported by absolute URL), and the tsx flags are
 * taken out of the arguments the job processes inherit. Compiled JavaScript is returned as is;
 * if bundling fails, the job processes run through tsx as before.
 */
export async function jobModules(sources: JobModules, dir: string, logger: Logger): Promise<JobModules> {
  if (!sources.job.endsWith('.ts') && !sources.host.endsWith('.ts')) return sources;
  try {
    const esbuild = await import('esbuild');
    const started = performance.now();
    await esbuild.build({
      entryPoints: { job: sources.job, host: sources.host },
      outdir: dir,
      outExtension: { '.js': '.mjs' },
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
    logger.debug({ ms: Math.round(performance.now() - started) }, 'job modules bundled: job processes run JavaScript');
    return { job: join(dir, 'job.mjs'), host: join(dir, 'host.mjs') };
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not bundle the job modules: job processes run TypeScript through tsx (about 70 MB more each)');
    return sources;
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
