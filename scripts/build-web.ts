/**
 * Builds the web page (src/web/client -> dist/web): TypeScript + livekit-client bundled by esbuild,
 * nothing loaded from a CDN. `npm run build:web`; set-up (scripts/setup.sh) and the Docker build run
 * it. The service never builds the page: it serves dist/web as it finds it (src/web/bundle.ts).
 *
 *   npx tsx scripts/build-web.ts              build (minified)
 *   npx tsx scripts/build-web.ts --no-minify  build without minifying
 *   npx tsx scripts/build-web.ts --if-stale   build only when dist/web is incomplete or older than its sources
 */
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { PROJECT_ROOT } from '../src/config/load.js';
import { BUNDLE_FILES, CLIENT_BUNDLE_DIR, missingBundleFiles } from '../src/web/bundle.js';

/** Browser sources (TypeScript, HTML, CSS). */
const CLIENT_SOURCE_DIR = join(PROJECT_ROOT, 'src', 'web', 'client');
/** Besides the sources, what the bundle depends on: livekit-client's version comes from the lockfile. */
const BUILD_INPUTS = [CLIENT_SOURCE_DIR, join(PROJECT_ROOT, 'package-lock.json'), join(PROJECT_ROOT, 'scripts', 'build-web.ts')];

interface BuildResult {
  outDir: string;
  bytes: Record<string, number>;
  ms: number;
}

/**
 * Bundles the page with esbuild. Builds into a temporary folder and renames file by file, so a
 * server reading the bundle never sees a half-written file.
 */
async function buildClientBundle(options: { outDir?: string; minify?: boolean } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? CLIENT_BUNDLE_DIR;
  const started = performance.now();
  const esbuild = await import('esbuild').catch((error: unknown) => {
    throw new Error(`esbuild is not installed (${String(error)}); run \`npm install\` with dev dependencies`);
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

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

/** Why the bundle in `outDir` needs building, or undefined when it is complete and newer than every input. */
async function staleReason(outDir: string): Promise<string | undefined> {
  const missing = await missingBundleFiles(outDir);
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  const built = Math.min(...(await Promise.all(BUNDLE_FILES.map((name) => newestMtime(join(outDir, name))))));
  for (const input of BUILD_INPUTS) {
    if ((await newestMtime(input)) > built) return `${relative(PROJECT_ROOT, input)} changed`;
  }
  return undefined;
}

async function main(): Promise<void> {
  const shownDir = relative(PROJECT_ROOT, CLIENT_BUNDLE_DIR);
  if (process.argv.includes('--if-stale')) {
    const reason = await staleReason(CLIENT_BUNDLE_DIR);
    if (reason === undefined) {
      process.stdout.write(`    web page up to date (${shownDir})\n`);
      return;
    }
    process.stdout.write(`    building the web page: ${reason}\n`);
  }
  const result = await buildClientBundle({ minify: !process.argv.includes('--no-minify') });
  const files = Object.entries(result.bytes)
    .map(([name, size]) => `  ${name.padEnd(14)} ${(size / 1024).toFixed(1).padStart(8)} KiB`)
    .join('\n');
  process.stdout.write(`web page built in ${result.ms} ms -> ${shownDir}\n${files}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`web page build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
