/** Shared set-up of the in-process legacy tests (test/legacy/server-*.test.ts, session-*.test.ts). */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { LegacyClient, ReceivedFrame, ServerMessage } from '../../src/legacy/client.js';
import type { SpeechSynthesizer } from '../../src/tts/types.js';
import { realEngine, type RunningLegacy, startLegacy } from './legacy.js';

/** Four sentences: several seconds of speech, long enough to pause, stop or queue behind. */
export const LONG_TEXT =
  'The quick brown fox jumps over the lazy dog near the river bank. ' +
  'A second sentence follows, long enough to keep the voice busy for a while. ' +
  'Then a third one arrives, and it also has quite a few words in it. ' +
  'Finally the fourth sentence closes this rather long paragraph of test speech.';

export type Message = ServerMessage & { receivedAt: number };

/**
 * Loads the real Piper engine once for the calling test file (before its first test, closed after
 * its last); returns a getter for it.
 */
export function useRealEngine(): () => SpeechSynthesizer {
  let engine: (SpeechSynthesizer & { close(): Promise<void> }) | undefined;
  before(async () => {
    engine = await realEngine();
  });
  after(async () => {
    await engine?.close();
  });
  return () => {
    if (!engine) throw new Error('the engine is not loaded yet (use it inside a test or hook)');
    return engine;
  };
}

/** A server for one test: stopped however the test ends. */
export async function withServer(
  tts: SpeechSynthesizer,
  overrides: Parameters<typeof startLegacy>[1],
  body: (server: RunningLegacy) => Promise<void>,
): Promise<void> {
  const server = await startLegacy(tts, overrides);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

/** Frames numbered 1, 2, 3, ... without a gap. */
export function assertGapFree(frames: readonly ReceivedFrame[], label = ''): void {
  frames.forEach((frame, i) => {
    assert.equal(frame.sequence, i + 1, `${label ? `${label}: ` : ''}frame ${i} has sequence ${frame.sequence}, expected ${i + 1}`);
  });
}

export const ofType = (client: LegacyClient, type: string, from = 0): Message[] => client.messages.slice(from).filter((m) => m.type === type);

/** A round trip: every message sent before it has been handled by the server once its pong is back. */
export async function barrier(client: LegacyClient, id: string): Promise<void> {
  client.send({ type: 'ping', id });
  await client.waitFor((m) => m.type === 'pong' && m['id'] === id, 10_000);
}
