/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * PAUSE, RESUME and STOP with realtime pacing, as a streaming client hears them.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { eventually, startLegacy, type RunningLegacy } from '../support/legacy.js';
import { assertGapFree, LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('controls (realtime pacing, as a streaming client hears it)', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine(), { LEGACY_PACING: 'realtime' })));
  after(() => server.stop());

  test('PAUSE is acknowledged at once and no later frame arrives until RESUME continues at the next sequence (7 cycles)', async (t) => {
    const client = await LegacyClient.connect(server.url);
    client.say(LONG_TEXT);
    await eventually(() => client.frames.length > 10, 15_000, 'frames flowing');
    const SAMPLES = 7;
    const roundTrips: number[] = [];
    const serverLatencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const from = client.messages.length;
      const pausedAt = performance.now();
      client.control('PAUSE');
      const ack = await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'PAUSE', 10_000, from);
      roundTrips.push(ack.receivedAt - pausedAt);
      serverLatencies.push(Number(ack['latency_ms']));
      assert.equal(ack['state'], 'paused');
      const lastBefore = Number(ack['sequence']);
      // every frame sent before the ack has arrived (the ack follows it on the socket), and nothing after it
      assert.ok(client.frames.at(-1)!.sequence >= lastBefore, `cycle ${i}: frame ${lastBefore} was reported sent but had not arrived`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(client.frames.at(-1)!.sequence, lastBefore, `cycle ${i}: frames kept arriving after PAUSE`);
      assert.equal(
        client.messages.some((m) => m.type === 'session_end'),
        false,
        `cycle ${i}: the text ended while paused`,
      );
      client.control('RESUME');
      await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'RESUME', 10_000, from);
      await eventually(() => client.frames.at(-1)!.sequence > lastBefore + 3, 10_000, `frames after RESUME (cycle ${i})`);
      assert.equal(client.frames.find((f) => f.sequence > lastBefore)?.sequence, lastBefore + 1, `cycle ${i}: RESUME skipped a sequence`);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    t.diagnostic(
      `PAUSE round trips ${roundTrips.map((ms) => ms.toFixed(1)).join(', ')} ms (median ${median(roundTrips).toFixed(1)}); server latency median ${median(serverLatencies)} ms`,
    );
    // The server acts on PAUSE synchronously when the message arrives (well under 50 ms), and the
    // ack is not queued behind audio or a sentence being synthesized (that would take several
    // hundred ms to seconds). Medians of several cycles, bounds a loaded machine stays far below.
    assert.ok(median(serverLatencies) < 50, `server took a median ${median(serverLatencies)} ms to act on PAUSE`);
    assert.ok(median(roundTrips) < 150, `PAUSE acknowledged after a median ${median(roundTrips).toFixed(1)} ms`);
    client.control('STOP');
    assert.equal((await client.waitFor((m) => m.type === 'session_end'))['reason'], 'stopped');
    assertGapFree(client.frames);
    client.close();
  });

  test('STOP cancels the current text and everything queued, each ends with reason stopped, and the session goes on', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say(LONG_TEXT);
    client.say('Queued one.');
    client.say('Queued two.');
    await eventually(() => client.frames.length > 0, 10_000, 'first frame');
    client.control('STOP');
    const ack = await client.waitFor((m) => m.type === 'control_ack');
    assert.equal(ack['cleared'], 3);
    assert.equal(ack['state'], 'idle');
    const ends = client.messages.filter((m) => m.type === 'session_end');
    assert.deepEqual(
      ends.map((e) => e['reason']),
      ['stopped', 'stopped', 'stopped'],
    );
    const lastSequence = Number(ack['sequence']);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(client.frames.at(-1)!.sequence, lastSequence, 'audio after STOP');
    const from = client.messages.length;
    client.say('After the stop.');
    const end = await client.waitFor((m) => m.type === 'session_end', 20_000, from);
    assert.equal(end['reason'], 'completed');
    assertGapFree(client.frames);
    client.close();
  });

  test('sessions are isolated: one session pausing and stopping does not touch another', async () => {
    const [a, b] = await Promise.all([LegacyClient.connect(server.url), LegacyClient.connect(server.url)]);
    a.say(LONG_TEXT);
    b.say('Session b speaks this sentence. And this one too.');
    await eventually(() => a.frames.length > 0, 10_000, 'first frame of a');
    a.control('PAUSE');
    a.control('STOP');
    const end = await b.waitFor((m) => m.type === 'session_end', 30_000);
    assert.equal(end['reason'], 'completed');
    assertGapFree(b.frames);
    assert.equal(
      b.messages.some((m) => m.type === 'control_ack'),
      false,
    );
    b.say('Still fine.');
    assert.equal((await b.waitFor((m) => m.type === 'session_end', 20_000, b.messages.indexOf(end) + 1))['reason'], 'completed');
    a.close();
    b.close();
  });
});
