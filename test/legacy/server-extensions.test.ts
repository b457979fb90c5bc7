/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * The protocol extensions: configure (utterance events, binary audio, speed, voice), ping and stats.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { startLegacy, type RunningLegacy } from '../support/legacy.js';
import { useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('extensions', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine())));
  after(() => server.stop());

  test('configure turns on utterance events and binary frames; ids, sequences and timings are reported', async () => {
    const client = await LegacyClient.connect(server.url);
    client.send({ type: 'configure', utterance_events: true, binary_audio: true });
    const configured = await client.waitFor((m) => m.type === 'configured');
    assert.equal(configured['binary_audio'], true);
    client.say('Binary frames now.', { utterance_id: 'first' });
    const end = await client.waitFor((m) => m.type === 'utterance_end');
    const start = client.messages.find((m) => m.type === 'utterance_start');
    assert.equal(start?.['utterance_id'], 'first');
    assert.equal(
      client.messages.some((m) => m.type === 'audio'),
      false,
      'JSON audio sent although binary was negotiated',
    );
    assert.equal(end['utterance_id'], 'first');
    assert.equal(end['reason'], 'completed');
    assert.equal(end['frames'], client.frames.length);
    assert.equal(end['first_sequence'], 1);
    assert.equal(end['last_sequence'], client.frames.length);
    assert.ok(Number(end['first_audio_ms']) >= Number(end['first_sentence_synthesis_ms']));
    const sessionEnd = await client.waitFor((m) => m.type === 'session_end');
    assert.equal(sessionEnd['utterance_id'], 'first');
    for (const frame of client.frames) assert.equal(frame.pcm.length, 1920);
    client.close();
  });

  test('speed per text changes the duration; per session via configure; an unknown voice is refused', async () => {
    const client = await LegacyClient.connect(server.url);
    client.send({ type: 'configure', utterance_events: true });
    const text = 'Speaking at different rates.';
    client.say(text, { utterance_id: 'normal' });
    client.say(text, { utterance_id: 'fast', speed: 2 });
    const normal = await client.waitFor((m) => m.type === 'utterance_end' && m['utterance_id'] === 'normal', 20_000);
    const fast = await client.waitFor((m) => m.type === 'utterance_end' && m['utterance_id'] === 'fast', 20_000);
    const ratio = Number(fast['frames']) / Number(normal['frames']);
    assert.ok(ratio > 0.35 && ratio < 0.7, `speed 2 gave ${ratio.toFixed(2)} of the normal duration`);
    client.send({ type: 'configure', speed: 0.5 });
    await client.waitFor((m) => m.type === 'configured' && m['speed'] === 0.5);
    client.say(text, { utterance_id: 'slow' });
    const slow = await client.waitFor((m) => m.type === 'utterance_end' && m['utterance_id'] === 'slow', 20_000);
    assert.ok(Number(slow['frames']) > 1.4 * Number(normal['frames']), `slow ${slow['frames']} vs normal ${normal['frames']}`);
    client.say(text, { utterance_id: 'nobody', voice: 'no_such-voice' });
    const error = await client.waitFor((m) => m.type === 'error');
    assert.equal(error['code'], 'VOICE_UNAVAILABLE');
    assert.equal(error['utterance_id'], 'nobody');
    assert.equal((await client.waitFor((m) => m.type === 'utterance_end' && m['utterance_id'] === 'nobody'))['reason'], 'error');
    client.send({ type: 'configure', voice: 'missing-voice' });
    assert.equal(
      (await client.waitFor((m) => m.type === 'error' && m['code'] === 'VOICE_UNAVAILABLE', 5000, client.messages.indexOf(error) + 1))['code'],
      'VOICE_UNAVAILABLE',
    );
    client.send({ type: 'stats' });
    const stats = await client.waitFor((m) => m.type === 'stats');
    assert.equal(stats['voice'], null, 'the refused voice was kept');
    client.close();
  });

  test('ping answers pong with the id; stats reports the session', async () => {
    const client = await LegacyClient.connect(server.url);
    client.send({ type: 'ping', id: 42 });
    const pong = await client.waitFor((m) => m.type === 'pong');
    assert.equal(pong['id'], 42);
    assert.ok(Math.abs(Number(pong['server_time_ms']) - Date.now()) < 5000);
    client.say('Count me.');
    await client.waitFor((m) => m.type === 'session_end');
    client.send({ type: 'stats' });
    const stats = await client.waitFor((m) => m.type === 'stats');
    assert.equal(stats['session_id'], client.sessionId);
    assert.equal(stats['frames_sent'], client.frames.length);
    assert.equal(stats['utterances_completed'], 1);
    assert.equal(stats['state'], 'idle');
    client.close();
  });
});
