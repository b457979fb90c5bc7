import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { peerCacheDir } from './cache.js';

const MODEL_FILE = 'ggml-tiny.en.bin';

/** The converted model in $VO_CACHE/models; a missing model fails the test (never skips it). */
export function requireWhisperModel(): string {
  const path = join(peerCacheDir(), 'models', MODEL_FILE);
  if (!existsSync(path)) throw new Error(`the local Whisper model ${MODEL_FILE} is not installed: run \`npm run setup\` (or bash scripts/setup/whisper.sh)`);
  return path;
}
