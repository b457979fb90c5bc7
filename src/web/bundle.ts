import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../config/load.js';

/** Browser sources (TypeScript, HTML, CSS). */
export const CLIENT_SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client');
/** Where `npm run build:web` (and the on-demand build) writes the page. Git-ignored. */
export const CLIENT_BUNDLE_DIR = join(PROJECT_ROOT, 'dist', 'web');
/** Files the page consists of; the server serves exactly these. */
export const BUNDLE_FILES = ['index.html', 'app.js', 'app.js.map', 'styles.css', 'favicon.svg'] as const;

export interface BundleState {
  present: boolean;
  /** A client source file changed after the bundle was built. */
  stale: boolean;
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function newestSourceMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? await newestSourceMtime(path) : ((await mtimeMs(path)) ?? 0);
    newest = Math.max(newest, t);
  }
  return newest;
}

export async function bundleState(outDir = CLIENT_BUNDLE_DIR, sourceDir = CLIENT_SOURCE_DIR): Promise<BundleState> {
  const built = await Promise.all(BUNDLE_FILES.map((f) => mtimeMs(join(outDir, f))));
  if (built.some((t) => t === undefined)) return { present: false, stale: true };
  const oldest = Math.min(...(built as number[]));
  let sourcesNewest = 0;
  try {
    sourcesNewest = await newestSourceMtime(sourceDir);
  } catch {
    // Sources absent (a deployment that ships only dist/): the bundle is all there is.
  }
  return { present: true, stale: sourcesNewest > oldest };
}

export interface BuildResult {
  outDir: string;
  bytes: Record<string, number>;
  ms: number;
}

/**
 * Bundles the page with esbuild (livekit-client included, nothing loaded from a CDN). Builds into a
 * temporary folder and renames file by file, so a server reading the bundle never sees a half-written file.
 * esbuild is imported lazily: a deployment with a prebuilt bundle does not need it.
 */
export async function buildClientBundle(options: { outDir?: string; minify?: boolean } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? CLIENT_BUNDLE_DIR;
  const started = performance.now();
  const esbuild = await import('esbuild').catch((error: unknown) => {
    throw new Error(`cannot build the web page: esbuild is not installed (${String(error)}); run \`npm install\` (with dev dependencies) or ship a prebuilt dist/web`);
  });
  await mkdir(dirname(outDir), { recursive: true });
  const tmp = await mkdtemp(`${outDir}.tmp-`);
  try {
    await esbuild.build({
      entryPoints: { app: join(CLIENT_SOURCE_DIR, 'main.ts') },
      outdir: tmp,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox115', 'safari16'],
      minify: options.minify ?? true,
      sourcemap: 'linked',
      legalComments: 'eof',
      logLevel: 'silent',
      absWorkingDir: PROJECT_ROOT,
    });
    await esbuild.build({
      entryPoints: ['index.html', 'styles.css', 'favicon.svg'].map((f) => join(CLIENT_SOURCE_DIR, f)),
      outdir: tmp,
      loader: { '.html': 'copy', '.css': 'copy', '.svg': 'copy' },
      logLevel: 'silent',
    });
    await mkdir(outDir, { recursive: true });
    const bytes: Record<string, number> = {};
    for (const name of await readdir(tmp)) {
      bytes[name] = (await stat(join(tmp, name))).size;
      await rename(join(tmp, name), join(outDir, name));
    }
    return { outDir, bytes, ms: Math.round(performance.now() - started) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
