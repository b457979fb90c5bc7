/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { LegacyClient, ConnectError, type ReceivedFrame } from '../../src/legacy/client.js';
import { eventually, ObservedSynthesizer, realEngine, startLegacy, type RunningLegacy } from '../support/legacy.js';
import type { SpeechSynthesizer } from '../../src/tts/types.js';

const LONG_TEXT =
  'The quick brown fox jumps over the lazy dog near the river bank. ' +
  'A second sentence follows, long enough to keep the voice busy for a while. ' +
  'Then a third one arrives, and it also has quite a few words in it. ' +
  'Finally the fourth sentence closes this rather long paragraph of test speech.';

function assertGapFree(frames: readonly ReceivedFrame[], first = 1): void {
  frames.forEach((frame, i) => {
    assert.equal(frame.sequence, first + i, `frame ${i} has sequence ${frame.sequence}, expected ${first + i}`);
  });
}

let engine: SpeechSynthesizer & { close(): Promise<void> };
before(async () => {
  engine = await realEngine();
});
after(async () => {
  await engine?.close();
});

describe('documented protocol', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine)));
  after(() => server.stop());

  test('session_start comes first; a text becomes 48 kHz 20 ms frames numbered from 1 then session_end completed', async () => {
    const client = await LegacyClient.connect(server.url);
    assert.equal(client.messages[0]?.type, 'session_start');
    assert.match(client.sessionId, /^[0-9a-f-]{36}$/);
    client.say('Hello there. How are you today?');
    const end = await client.waitFor((m) => m.type === 'session_end');
    assert.deepEqual(
      { type: end.type, session_id: end['session_id'], reason: end['reason'] },
      { type: 'session_end', session_id: client.sessionId, reason: 'completed' },
    );
    assert.ok(client.frames.length > 40, `only ${client.frames.length} frames for two sentences`);
    assertGapFree(client.frames);
    for (const frame of client.frames) assert.equal(frame.pcm.length, 1920);
    const audio = client.messages.find((m) => m.type === 'audio');
    assert.equal(audio?.['sample_rate'], 48000);
    assert.equal(audio?.['frame_ms'], 20);
    // the voice really spoke: the audio is not silence
    const peak = Math.max(...client.frames.flatMap((f) => [...new Int16Array(f.pcm.buffer, f.pcm.byteOffset, 960)].map(Math.abs)));
    assert.ok(peak > 3000, `peak ${peak}`);
    // no end marker before the last frame, and only documented message types
    assert.ok(client.messages.findIndex((m) => m.type === 'session_end') > client.messages.findLastIndex((m) => m.type === 'audio'));
    assert.deepEqual([...new Set(client.messages.map((m) => m.type))].sort(), ['audio', 'session_end', 'session_start']);
    client.close();
  });

  test('the socket stays open: further texts queue in order and the sequence continues without gaps', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('One.');
    client.say('Two, and a little more.', { is_final: true });
    client.say('Three.');
    let from = 0;
    const ends = [];
    for (let i = 0; i < 3; i++) {
      const end = await client.waitFor((m) => m.type === 'session_end', 20_000, from);
      from = client.messages.indexOf(end) + 1;
      ends.push(end);
    }
    assert.deepEqual(
      ends.map((e) => e['reason']),
      ['completed', 'completed', 'completed'],
    );
    assertGapFree(client.frames);
    // frames of each text come before its session_end
    const counts = ends.map((end) => client.messages.slice(0, client.messages.indexOf(end)).filter((m) => m.type === 'audio').length);
    assert.ok(counts[0]! < counts[1]! && counts[1]! < counts[2]!, `cumulative frames ${counts}`);
    assert.ok(counts[1]! - counts[0]! > counts[2]! - counts[1]!, 'the second (longer) text has more frames than the third');
    client.close();
  });

  test('is_final false keeps the text until a final text arrives', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('Good morning, ', { is_final: false });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(client.frames.length, 0);
    client.say('everyone.');
    const end = await client.waitFor((m) => m.type === 'session_end');
    assert.equal(end['reason'], 'completed');
    assert.ok(client.frames.length > 30);
    client.close();
  });

  test('without pacing, PAUSE takes effect at once on the server and holds back every later frame', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say(LONG_TEXT);
    await eventually(() => client.frames.length > 0, 15_000, 'first frame');
    client.control('PAUSE');
    const ack = await client.waitFor((m) => m.type === 'control_ack');
    assert.ok(Number(ack['latency_ms']) < 50, `server took ${ack['latency_ms']} ms`);
    const lastBefore = Number(ack['sequence']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(client.frames.at(-1)!.sequence, lastBefore, 'frames kept arriving after PAUSE');
    client.control('RESUME');
    assert.equal((await client.waitFor((m) => m.type === 'session_end', 60_000))['reason'], 'completed');
    assertGapFree(client.frames);
    client.close();
  });

  test("a new text's first sentence is synthesized before the rest of another session's long text", async () => {
    const [a, b] = await Promise.all([LegacyClient.connect(server.url), LegacyClient.connect(server.url)]);
    a.say(LONG_TEXT);
    await eventually(() => a.frames.length > 0, 15_000, 'first frame of a');
    b.say('Me first.');
    const bEnd = await b.waitFor((m) => m.type === 'session_end', 30_000);
    assert.equal(bEnd['reason'], 'completed');
    assert.equal(
      a.messages.some((m) => m.type === 'session_end'),
      false,
      'b waited for all of a',
    );
    await a.waitFor((m) => m.type === 'session_end', 60_000);
    assertGapFree(a.frames);
    a.close();
    b.close();
  });

  test("a long text without punctuation is synthesized in bounded chunks: another session's first audio does not wait for it", async (t) => {
    const [a, b] = await Promise.all([LegacyClient.connect(server.url), LegacyClient.connect(server.url)]);
    a.send({ type: 'configure', utterance_events: true });
    b.send({ type: 'configure', utterance_events: true });
    // about a minute of speech with no sentence or clause punctuation at all
    a.say('and the quick brown fox jumps over the lazy dog '.repeat(24));
    await new Promise((r) => setTimeout(r, 300));
    b.say('Me first.');
    const bEnd = await b.waitFor((m) => m.type === 'utterance_end', 60_000);
    const aEnd = await a.waitFor((m) => m.type === 'utterance_end', 120_000);
    assert.equal(bEnd['reason'], 'completed');
    assert.equal(aEnd['reason'], 'completed');
    t.diagnostic(`b's first audio after ${bEnd['first_audio_ms']} ms; a's text took ${aEnd['synthesis_ms']} ms of synthesis`);
    // one inference for the whole text would make b wait for all of a's synthesis; one bounded
    // chunk of a, then b's own, is a small part of it (a ratio, so machine load cancels out)
    assert.ok(Number(bEnd['first_audio_ms']) < Number(aEnd['synthesis_ms']) / 2, `b's first audio after ${bEnd['first_audio_ms']} ms`);
    assertGapFree(a.frames);
    a.close();
    b.close();
  });

  test('the first frame leaves once the first sentence is synthesized, long before the whole text is', async () => {
    const client = await LegacyClient.connect(server.url);
    client.send({ type: 'configure', utterance_events: true });
    const sent = performance.now();
    client.say(LONG_TEXT);
    const end = await client.waitFor((m) => m.type === 'utterance_end', 30_000);
    const firstFrameAfter = client.frames[0]!.receivedAt - sent;
    const lastFrameAfter = client.frames.at(-1)!.receivedAt - sent;
    assert.ok(Number(end['synthesis_ms']) > 2 * Number(end['first_sentence_synthesis_ms']));
    assert.ok(firstFrameAfter < Number(end['synthesis_ms']), `first frame after ${firstFrameAfter} ms, total synthesis ${end['synthesis_ms']} ms`);
    assert.ok(firstFrameAfter < lastFrameAfter / 2, `first ${firstFrameAfter} ms, last ${lastFrameAfter} ms`);
    client.close();
  });
});

describe('controls (realtime pacing, as a streaming client hears it)', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine, { LEGACY_PACING: 'realtime' })));
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

describe('extensions', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine)));
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

describe('bad input and limits', () => {
  let server: RunningLegacy;
  let observed: ObservedSynthesizer;
  before(async () => {
    observed = new ObservedSynthesizer(engine);
    server = await startLegacy(observed, {
      LEGACY_MAX_MESSAGE_BYTES: '2048',
      LEGACY_MAX_TEXT_CHARS: '300',
      LEGACY_MAX_QUEUED_TEXTS: '2',
      LEGACY_RATE_LIMIT_PER_SEC: '5',
      LEGACY_RATE_LIMIT_BURST: '30',
      LEGACY_MAX_CONNECTIONS: '6',
    });
  });
  after(() => server.stop());

  test('invalid JSON, unknown types, wrong field types and binary frames get INVALID_MESSAGE and the connection stays usable', async () => {
    const client = await LegacyClient.connect(server.url);
    const hostile: Array<string | Buffer> = [
      'not json',
      '{"type":"text"',
      '[]',
      '{}',
      '{"type":"shout","text":"x"}',
      '{"type":"text","text":""}',
      '{"type":"text","text":["a"]}',
      '{"type":"text","text":"a","is_final":1}',
      '{"type":"control","command":"REWIND"}',
      '{"type":"configure","voice":"../../../etc/passwd"}',
      '{"type":"__proto__","text":"x"}',
      '{"type":"text","text":"a","__proto__":{"polluted":true}}'.replace('"a"', '5'),
      `{"a":${'['.repeat(500)}${']'.repeat(500)}}`,
      Buffer.from([0, 1, 2, 3]),
    ];
    for (const item of hostile) client.socket.send(item, { binary: Buffer.isBuffer(item) });
    await eventually(() => client.messages.filter((m) => m.type === 'error').length >= hostile.length, 5000, 'an error per bad message');
    const errors = client.messages.filter((m) => m.type === 'error');
    assert.deepEqual([...new Set(errors.map((e) => e['code']))], ['INVALID_MESSAGE']);
    assert.ok(errors.every((e) => typeof e['message'] === 'string' && String(e['message']).length > 0));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    client.say('Still here.');
    assert.equal((await client.waitFor((m) => m.type === 'session_end', 20_000))['reason'], 'completed');
    client.close();
  });

  test('a message over the size limit is refused with MESSAGE_TOO_LARGE; one far over it closes the socket with 1009', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('x'.repeat(3000));
    const error = await client.waitFor((m) => m.type === 'error');
    assert.equal(error['code'], 'MESSAGE_TOO_LARGE');
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
    client.say('x'.repeat(20_000));
    const closed = await client.closed(5000);
    assert.equal(closed.code, 1009);
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session');
  });

  test('text over LEGACY_MAX_TEXT_CHARS gets TEXT_TOO_LONG; more than LEGACY_MAX_QUEUED_TEXTS waiting gets QUEUE_FULL', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('y'.repeat(301));
    assert.equal((await client.waitFor((m) => m.type === 'error'))['code'], 'TEXT_TOO_LONG');
    client.say(LONG_TEXT.slice(0, 290));
    client.say('Queued one.');
    client.say('Queued two.');
    client.say('One too many.');
    const queueFull = await client.waitFor((m) => m.type === 'error' && m['code'] === 'QUEUE_FULL');
    assert.match(String(queueFull['message']), /limit 2/);
    client.control('STOP');
    const ack = await client.waitFor((m) => m.type === 'control_ack');
    assert.equal(ack['cleared'], 3);
    client.close();
  });

  test('more messages than the rate limit allows get RATE_LIMITED and the connection stays; controls and pings keep their own budget', async () => {
    // this server: 5 messages per second, burst 30 (controls: the defaults, 50 a second, burst 100)
    const started = performance.now();
    const client = await LegacyClient.connect(server.url);
    const FLOOD = 60;
    const floodStarted = performance.now();
    for (let i = 0; i < FLOOD; i++) client.send({ type: 'stats' });
    await eventually(() => client.messages.filter((m) => m.type === 'stats' || m.type === 'error').length >= FLOOD, 10_000, `${FLOOD} replies`);
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    const limited = client.messages.filter((m) => m.type === 'error' && m['code'] === 'RATE_LIMITED').length;
    const answered = client.messages.filter((m) => m.type === 'stats').length;
    // The bucket starts full (30) and refills 5 a second while the flood is read. How many more
    // that lets through depends on how long the flood took here: the bound is computed from it.
    const refillBound = Math.ceil(5 * floodSeconds);
    assert.ok(
      answered >= 30 && answered <= 30 + refillBound,
      `${answered} answered in ${floodSeconds.toFixed(2)} s (burst 30, at most ${refillBound} refilled)`,
    );
    assert.equal(limited, FLOOD - answered, 'every message was answered or refused');
    assert.ok(limited > 0, 'no message was refused');
    // The general budget is spent, yet controls and pings still get through: more of them than the
    // general budget can have held since the session started, so they cannot have come from it.
    const from = client.messages.length;
    const PINGS = 60;
    client.control('PAUSE');
    for (let i = 0; i < PINGS; i++) client.send({ type: 'ping', id: `during-flood-${i}` });
    client.control('RESUME');
    await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'RESUME', 10_000, from);
    const sessionSeconds = (performance.now() - started) / 1000;
    const after = client.messages.slice(from);
    assert.deepEqual(
      after.filter((m) => m.type === 'pong').map((m) => m['id']),
      Array.from({ length: PINGS }, (_, i) => `during-flood-${i}`),
    );
    assert.deepEqual(
      after.filter((m) => m.type === 'control_ack').map((m) => m['command']),
      ['PAUSE', 'RESUME'],
    );
    assert.equal(after.filter((m) => m.type === 'error').length, 0);
    const generalBudget = 30 + 5 * sessionSeconds;
    assert.ok(
      answered + PINGS + 2 > generalBudget,
      `${answered + PINGS + 2} messages admitted in ${sessionSeconds.toFixed(2)} s could have come from one budget of ${generalBudget.toFixed(1)}`,
    );
    // and the general budget refills: 400 ms later there is room for a message again
    await new Promise((r) => setTimeout(r, 400));
    const statsFrom = client.messages.length;
    client.send({ type: 'stats' });
    await client.waitFor((m) => m.type === 'stats', 2000, statsFrom);
    client.close();
  });

  test('a client that disconnects mid-utterance cancels its synthesis and frees the session', async () => {
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session before');
    const abandonedBefore = observed.abandoned;
    const client = await LegacyClient.connect(server.url);
    client.say(LONG_TEXT.slice(0, 290));
    await eventually(() => client.frames.length > 0, 10_000, 'first frame');
    client.terminate();
    await eventually(() => server.status().active_sessions === 0 && observed.running === 0, 5000, 'session and synthesis released');
    assert.equal(observed.abandoned, abandonedBefore + 1);
    const outcomes = server.status()['utterances_by_outcome'] as Record<string, number>;
    assert.ok((outcomes['client_disconnect'] ?? 0) >= 1);
  });

  test('over LEGACY_MAX_CONNECTIONS a connection is refused with 503 TOO_MANY_CONNECTIONS; a slot frees on close', async () => {
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session before');
    const clients = await Promise.all(Array.from({ length: 6 }, () => LegacyClient.connect(server.url)));
    const refused = await LegacyClient.connect(server.url).then(
      () => assert.fail('the 7th connection was accepted'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.status, 503);
    assert.match(refused.message, /TOO_MANY_CONNECTIONS/);
    clients[0]!.close();
    await clients[0]!.closed();
    await eventually(() => server.status().active_sessions === 5, 5000, 'slot freed');
    const again = await LegacyClient.connect(server.url);
    for (const c of [...clients, again]) c.close();
    await eventually(() => server.status().active_sessions === 0, 5000, 'all closed');
    assert.equal(server.status().errors_by_code['TOO_MANY_CONNECTIONS'], 1);
  });
});

describe('timeouts, slow consumers and access', () => {
  test('an idle session ends with IDLE_TIMEOUT; a session past LEGACY_MAX_SESSION_MS ends with SESSION_TIMEOUT', async () => {
    const server = await startLegacy(engine, { LEGACY_IDLE_TIMEOUT_MS: '1000', LEGACY_MAX_SESSION_MS: '2500' });
    try {
      const idle = await LegacyClient.connect(server.url);
      const opened = performance.now();
      const idleError = await idle.waitFor((m) => m.type === 'error', 5000);
      assert.equal(idleError['code'], 'IDLE_TIMEOUT');
      assert.ok(performance.now() - opened >= 950);
      assert.equal((await idle.waitFor((m) => m.type === 'session_end'))['reason'], 'idle_timeout');
      await idle.closed();

      const busy = await LegacyClient.connect(server.url);
      const keepAlive = setInterval(() => busy.open && busy.send({ type: 'ping' }), 300);
      try {
        const error = await busy.waitFor((m) => m.type === 'error', 6000);
        assert.equal(error['code'], 'SESSION_TIMEOUT');
        assert.equal((await busy.waitFor((m) => m.type === 'session_end'))['reason'], 'session_timeout');
        await busy.closed();
      } finally {
        clearInterval(keepAlive);
      }
      await eventually(() => server.status().active_sessions === 0, 3000, 'no active session');
    } finally {
      await server.stop();
    }
  });

  test('a client that stops reading is held by backpressure, then cut off with SLOW_CONSUMER after LEGACY_SLOW_CONSUMER_TIMEOUT_MS; memory stays bounded', async () => {
    const observed = new ObservedSynthesizer(engine);
    const server = await startLegacy(observed, {
      LEGACY_SEND_HIGH_WATER_BYTES: '65536',
      LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '1500',
      LEGACY_MAX_TEXT_CHARS: '20000',
      LEGACY_MAX_MESSAGE_BYTES: '65536',
    });
    try {
      // a raw socket that never reads after the handshake
      const socket = new WebSocket(server.url);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'text', text: LONG_TEXT.repeat(8) }));
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
      await eventually(() => (server.status().errors_by_code['SLOW_CONSUMER'] ?? 0) === 1, 60_000, 'SLOW_CONSUMER');
      await eventually(() => server.status().active_sessions === 0 && observed.running === 0, 5000, 'session and synthesis released');
      const outcomes = server.status()['utterances_by_outcome'] as Record<string, number>;
      assert.equal(outcomes['slow_consumer'], 1);
      // far less audio went out than the text holds: the server did not keep producing
      assert.ok(Number(server.status()['frames']) < 3000, `${server.status()['frames']} frames sent`);
      socket.terminate();
    } finally {
      await server.stop();
    }
  });

  test('a client that reads slowly is paced by backpressure, not cut off: every frame arrives', async () => {
    // the hard cap is far below what the kernel's socket buffers let pile up: only backpressure keeps this client
    const server = await startLegacy(engine, {
      LEGACY_SEND_HIGH_WATER_BYTES: '16384',
      LEGACY_SEND_BUFFER_BYTES: '65536',
      LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '2000',
      LEGACY_MAX_TEXT_CHARS: '5000',
    });
    try {
      const client = await LegacyClient.connect(server.url);
      const tcp = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      // read for 400 ms, then stop for 400 ms, over and over: each stall well under the slow-consumer limit
      let reading = true;
      const toggle = setInterval(() => {
        reading = !reading;
        if (reading) tcp.resume();
        else tcp.pause();
      }, 400);
      try {
        client.say(LONG_TEXT.repeat(3));
        const end = await client.waitFor((m) => m.type === 'session_end', 120_000);
        assert.equal(end['reason'], 'completed');
      } finally {
        clearInterval(toggle);
        tcp.resume();
      }
      assertGapFree(client.frames);
      assert.ok(client.frames.length > 2000, `${client.frames.length} frames`);
      assert.equal(server.status().errors_by_code['SLOW_CONSUMER'] ?? 0, 0);
      client.close();
    } finally {
      await server.stop();
    }
  });

  test('with LEGACY_AUTH_TOKEN, a connection without the token is refused with 401 before the upgrade; header or query token is accepted', async () => {
    const server = await startLegacy(engine, { LEGACY_AUTH_TOKEN: 'test-token-123-long-enough', LEGACY_ALLOWED_ORIGINS: 'https://allowed.example' });
    try {
      for (const options of [{}, { token: 'wrong' }, { token: 'wrong', tokenInQuery: true }]) {
        const error = await LegacyClient.connect(server.url, options).then(
          () => assert.fail('accepted without a valid token'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof ConnectError);
        assert.equal(error.status, 401);
        assert.match(String(error.body), /UNAUTHORIZED/);
      }
      const byHeader = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough' });
      const byQuery = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', tokenInQuery: true });
      const fromAllowed = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', headers: { origin: 'https://allowed.example' } });
      const forbidden = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', headers: { origin: 'https://evil.example' } }).then(
        () => assert.fail('origin accepted'),
        (e: unknown) => e,
      );
      assert.ok(forbidden instanceof ConnectError);
      assert.equal(forbidden.status, 403);
      const wrongPath = await LegacyClient.connect(`${server.url}/other?token=test-token-123`).then(
        () => assert.fail('path accepted'),
        (e: unknown) => e,
      );
      assert.equal((wrongPath as ConnectError).status, 404);
      for (const c of [byHeader, byQuery, fromAllowed]) c.close();
      assert.equal(server.status().errors_by_code['UNAUTHORIZED'], 3);
      assert.equal(server.status().errors_by_code['ORIGIN_NOT_ALLOWED'], 1);
    } finally {
      await server.stop();
    }
  });

  test('realtime pacing sends one frame per 20 ms', async () => {
    const server = await startLegacy(engine, { LEGACY_PACING: 'realtime' });
    try {
      const client = await LegacyClient.connect(server.url);
      client.say('Paced in real time, one frame every twenty milliseconds.');
      await client.waitFor((m) => m.type === 'session_end', 30_000);
      const frames = client.frames;
      const span = frames.at(-1)!.receivedAt - frames[0]!.receivedAt;
      const expected = (frames.length - 1) * 20;
      assert.ok(Math.abs(span - expected) < expected * 0.15 + 100, `${frames.length} frames over ${span.toFixed(0)} ms, expected about ${expected} ms`);
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe('shutdown and metrics', () => {
  test('stop() ends every live session with session_end reason shutdown and close 1001, then refuses new connections', async () => {
    const observed = new ObservedSynthesizer(engine);
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
    const server = await startLegacy(engine);
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
