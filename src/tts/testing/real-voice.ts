import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const REAL_VOICE = 'en_US-joe-medium';

/** Folder with the real test voice (VO_TEST_VOICES_DIR, default the setup cache); fails loudly if absent. */
export function realVoicesDir(): string {
  const dir = process.env.VO_TEST_VOICES_DIR ?? join(homedir(), '.cache', 'voice-orchestrator', 'voices');
  if (!existsSync(join(dir, `${REAL_VOICE}.onnx`)) || !existsSync(join(dir, `${REAL_VOICE}.onnx.json`))) {
    throw new Error(
      `the real voice ${REAL_VOICE} is not installed in VO_TEST_VOICES_DIR (default ~/.cache/voice-orchestrator/voices): run bash scripts/setup/voices.sh`,
    );
  }
  return dir;
}
