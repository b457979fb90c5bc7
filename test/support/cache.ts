import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where set-up parts put test peers: `$VO_CACHE`, default `~/.cache/voice-orchestrator`.
 * Test-harness code only (product code gets its settings from Config).
 */
export function peerCacheDir(): string {
  const fromEnv = process.env['VO_CACHE'];
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.cache', 'voice-orchestrator');
}

/** Error for a peer that is not installed: names the set-up part to run, never a machine path. */
export class PeerMissingError extends Error {
  constructor(peer: string, setupPart: string, detail: string) {
    super(`${peer} is not installed (${detail}): run \`bash scripts/setup/${setupPart}.sh\` (installs under $VO_CACHE, default ~/.cache/voice-orchestrator)`);
    this.name = 'PeerMissingError';
  }
}
