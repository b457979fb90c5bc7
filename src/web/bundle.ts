import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/load.js';

/**
 * The built web page. It is built at set-up and image build time (`npm run build:web`, by
 * scripts/build-web.ts with esbuild, a dev dependency), never by the running service: the
 * service only reads and serves it, and reports whether it is there.
 */

/** Where `npm run build:web` writes the page. Git-ignored. */
export const CLIENT_BUNDLE_DIR = join(PROJECT_ROOT, 'dist', 'web');
/** Files the page consists of; the server serves exactly these. */
export const BUNDLE_FILES = ['index.html', 'app.js', 'app.js.map', 'styles.css', 'favicon.svg'] as const;
/** What builds the page; named wherever the page is missing. */
export const BUILD_COMMAND = 'npm run build:web';

/** The bundle files absent from `dir` (all of them when the folder does not exist); empty when the page is complete. */
export async function missingBundleFiles(dir = CLIENT_BUNDLE_DIR): Promise<string[]> {
  const present = await Promise.all(
    BUNDLE_FILES.map((name) =>
      stat(join(dir, name)).then(
        (info) => info.isFile(),
        () => false,
      ),
    ),
  );
  return BUNDLE_FILES.filter((_, i) => !present[i]);
}
