/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * Shutdown and metrics: stop() ends live sessions; metrics and /status count what happened.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectError, LegacyClient } from '../../src/legacy/client.js';
import { eventually, ObservedSynthesizer, startLegacy } from '../support/legacy.js';
import { LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('shutdown and metrics', () => {
  test('stop() ends every live session with session_end reason shutdown and close 1001, then refuses new connections', async () => {
    const observed = new ObservedSynthesizer(engine());
    const server = await startLegacy(observed);
    const busy = await LegacyClient.connect(server.url);
    const idle = await LegacyClient.connect(server.url);
    busy.say(LONG_TEXT);
    busy.say('Queued behind.');
    await eventually(() => busy.frames.length > 0, 10_000, 'first frame');
    const stopping = server.stop();
    for (const client of [busy, idle]) {
      const end = await client.waitFor((m) => m.type === 'session_end');
      assert.equal(end['reason'], 'shutdown');
      assert.equal((await client.closed()).code, 1001);
    }
    await stopping;
    assert.equal(observed.running, 0);
    assert.equal(server.status().active_sessions, 0);
    assert.equal(server.component.health().ready, false);
    await assert.rejects(LegacyClient.connect(server.url), ConnectError);
  });

  test('metrics carry sessions, utterances, frames, errors and first-audio latency with the mode label; /status reads the same counts', async () => {
    const server = await startLegacy(engine());
    try {
      assert.equal(server.component.health().ready, true);
      const client = await LegacyClient.connect(server.url);
      client.send('nope');
      client.say('Measure this.');
      await client.waitFor((m) => m.type === 'session_end', 20_000);
      client.close();
      await eventually(() => server.status().active_sessions === 0, 3000, 'closed');
      const text = await server.registry.metrics();
      assert.match(text, /legacy_sessions_active\{mode="legacy"\} 0/);
      assert.match(text, /legacy_sessions_total\{mode="legacy"\} 1/);
      assert.match(text, /legacy_utterances_total\{outcome="completed",mode="legacy"\} 1/);
      assert.match(text, new RegExp(`legacy_audio_frames_total\\{mode="legacy"\\} ${client.frames.length}`));
      assert.match(text, /legacy_errors_total\{code="INVALID_MESSAGE",mode="legacy"\} 1/);
      assert.match(text, /legacy_first_audio_seconds_count\{mode="legacy"\} 1/);
      // The real-time factor is recorded once, by the engine (tts_synthesis_rtf, test/tts/component.test.ts).
      assert.doesNotMatch(text, /legacy_synthesis_rtf/);
      const status = server.status();
      assert.equal(status.active_sessions, 0);
      assert.equal(status['total_sessions'], 1);
      assert.equal(status['utterances'], 1);
      assert.deepEqual(status['utterances_by_outcome'], { completed: 1 });
      assert.equal(status['frames'], client.frames.length);
      assert.deepEqual(status.errors_by_code, { INVALID_MESSAGE: 1 });
      const latency = status['first_audio_ms'] as Record<string, number>;
      assert.ok(latency['p50']! > 0 && latency['p99']! >= latency['p50']!);
    } finally {
      await server.stop();
    }
  });
});
