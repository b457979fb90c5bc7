import { join } from 'node:path';
import { checkedMoonshineModel, type MoonshineModelFiles } from '../../src/local-models/model-files.js';
import { peerCacheDir } from './cache.js';

export const MOONSHINE_MODEL = 'moonshine-tiny-en';

/** The Moonshine model folder in $VO_CACHE/models; a missing model fails the test (never skips it). */
export function requireMoonshineModel(): MoonshineModelFiles {
  return checkedMoonshineModel(join(peerCacheDir(), 'models'), MOONSHINE_MODEL, 'the test model (bash scripts/setup/moonshine.sh)');
}
