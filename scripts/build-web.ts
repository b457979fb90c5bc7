/**
 * Builds the web page (src/web/client -> dist/web): TypeScript + livekit-client bundled by esbuild.
 * `npm run build:web`. The web component also builds it at start when it is missing or stale.
 */
import { buildClientBundle } from '../src/web/bundle.js';

const minify = !process.argv.includes('--no-minify');
try {
  const result = await buildClientBundle({ minify });
  const files = Object.entries(result.bytes)
    .map(([name, size]) => `  ${name.padEnd(14)} ${(size / 1024).toFixed(1).padStart(8)} KiB`)
    .join('\n');
  process.stdout.write(`web page built in ${result.ms} ms -> dist/web\n${files}\n`);
} catch (error) {
  process.stderr.write(`web page build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
