/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * The documented protocol: frames, sequences, queued and partial texts, PAUSE without pacing, and
 * fair synthesis across sessions.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { eventually, startLegacy, type RunningLegacy } from '../support/legacy.js';
import { assertGapFree, LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('documented protocol', () => {
  let server: RunningLegacy;
  before(async () => (server = await startLegacy(engine())));
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
