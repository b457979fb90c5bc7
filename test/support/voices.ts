import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PeerMissingError, peerCacheDir } from './cache.js';

/** The real Piper voice every test and benchmark speaks with (installed by scripts/setup/voices.sh). */
export const TEST_VOICE = 'en_US-joe-medium';

/** Where tests find Piper voices: VO_TEST_VOICES_DIR, else `$VO_CACHE/voices` (default `~/.cache/voice-orchestrator/voices`). */
export function testVoicesDir(): string {
  const fromEnv = process.env['VO_TEST_VOICES_DIR'];
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(peerCacheDir(), 'voices');
}

/** testVoicesDir(), after checking that `voice` (.onnx and .onnx.json) is there: fails loudly (PeerMissingError) if not. */
export function requireTestVoice(voice = TEST_VOICE): string {
  const dir = testVoicesDir();
  if (!existsSync(join(dir, `${voice}.onnx`)) || !existsSync(join(dir, `${voice}.onnx.json`))) {
    throw new PeerMissingError(`Piper voice ${voice}`, 'voices', `no ${voice}.onnx(.json) in the test voices folder`);
  }
  return dir;
}
