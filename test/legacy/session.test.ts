/**
 * One legacy session (src/legacy/session.ts with its message gate, settings, utterance queue,
 * speaker, session clock and utterance records), driven over real loopback WebSockets through the
 * legacy component, with the real Piper voice. Each test starts its own server with the limits it
 * is about.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { PiperEngine } from '../../src/tts/engine.js';
import type { InferenceWorker } from '../../src/tts/inference-worker.js';
import type { VoiceCache } from '../../src/tts/voice-cache.js';
import { eventually, TEST_VOICE } from '../support/legacy.js';
import { assertGapFree, barrier, LONG_TEXT, type Message, ofType, useRealEngine, withServer } from '../support/legacy-unit.js';
import { testVoicesDir } from '../support/voices.js';

const engine = useRealEngine();

describe('legacy session: queue, partial text, STOP', () => {
  test('texts queue in order and are spoken one at a time, whole, with contiguous sequences', async () => {
    await withServer(engine(), {}, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.send({ type: 'configure', utterance_events: true });
      const texts = [
        { id: 'one', text: LONG_TEXT },
        { id: 'two', text: 'The second text, queued behind the first.' },
        { id: 'three', text: 'And the third.' },
      ];
      for (const { id, text } of texts) client.say(text, { utterance_id: id });
      // the first is being spoken, the other two wait in order
      client.send({ type: 'stats' });
      const stats = await client.waitFor((m) => m.type === 'stats');
      assert.equal(stats['queued'], 2);
      assert.equal(stats['state'], 'speaking');
      await client.waitFor((m) => m.type === 'session_end' && m['utterance_id'] === 'three', 90_000);

      const starts = ofType(client, 'utterance_start');
      const ends = ofType(client, 'utterance_end');
      assert.deepEqual(
        starts.map((m) => m['utterance_id']),
        ['one', 'two', 'three'],
      );
      assert.deepEqual(
        ends.map((m) => [m['utterance_id'], m['reason']]),
        texts.map(({ id }) => [id, 'completed']),
      );
      assert.deepEqual(
        starts.map((m) => m['text_chars']),
        texts.map(({ text }) => text.length),
      );
      assert.deepEqual(
        ofType(client, 'session_end').map((m) => [m['utterance_id'], m['reason']]),
        texts.map(({ id }) => [id, 'completed']),
      );
      // one at a time: a text starts only after the previous one ended, and takes the next sequence
      const at = (m: Message) => client.messages.indexOf(m);
      for (let i = 0; i < texts.length; i++) {
        const start = starts[i]!;
        const end = ends[i]!;
        assert.equal(start['next_sequence'], end['first_sequence'], `${texts[i]!.id}: announced and first sequence differ`);
        assert.equal(Number(end['last_sequence']) - Number(end['first_sequence']) + 1, end['frames']);
        // every frame between its start and its end is its own
        const own = client.messages
          .slice(at(start), at(end))
          .filter((m) => m.type === 'audio')
          .map((m) => Number(m['sequence']));
        assert.deepEqual([own[0], own.at(-1), own.length], [end['first_sequence'], end['last_sequence'], end['frames']]);
        if (i > 0) {
          assert.ok(at(start) > at(ends[i - 1]!), `${texts[i]!.id} started before ${texts[i - 1]!.id} ended`);
          assert.equal(end['first_sequence'], Number(ends[i - 1]!['last_sequence']) + 1);
        }
      }
      // the long text is the longest audio, the short last one the shortest
      const frames = ends.map((m) => Number(m['frames']));
      assert.ok(frames[0]! > frames[1]! && frames[1]! > frames[2]!, `frames per text ${frames}`);
      assert.equal(Number(ends[2]!['last_sequence']), client.frames.length);
      assertGapFree(client.frames);
      client.close();
    });
  });

  test('partial texts (is_final false) wait, are joined to the next final text and spoken as one', async () => {
    await withServer(engine(), {}, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.send({ type: 'configure', utterance_events: true });
      const parts = ['Good morning, ', 'dear ', 'friends.'];
      client.say(parts[0]!, { is_final: false });
      client.say(parts[1]!, { is_final: false });
      await barrier(client, 'partials-handled');
      client.send({ type: 'stats' });
      const stats = await client.waitFor((m) => m.type === 'stats');
      assert.deepEqual([stats['state'], stats['queued']], ['idle', 0]);
      assert.equal(ofType(client, 'utterance_start').length + client.frames.length, 0, 'a partial text was spoken');

      client.say(parts[2]!, { utterance_id: 'joined' });
      const end = await client.waitFor((m) => m.type === 'session_end', 30_000);
      assert.deepEqual([end['utterance_id'], end['reason']], ['joined', 'completed']);
      const starts = ofType(client, 'utterance_start');
      assert.equal(starts.length, 1, 'the parts were spoken separately');
      assert.equal(starts[0]!['text_chars'], parts.join('').length, 'the parts were not joined');
      assert.ok(client.frames.length > 40, `${client.frames.length} frames for "${parts.join('')}"`);

      // STOP drops a pending partial text too
      const from = client.messages.length;
      client.say('Forget this part, ', { is_final: false });
      client.control('STOP');
      const ack = await client.waitFor((m) => m.type === 'control_ack', 10_000, from);
      assert.equal(ack['cleared'], 0, 'a partial text is not a queued text');
      client.say('Hi.', { utterance_id: 'after-stop' });
      const start = await client.waitFor((m) => m.type === 'utterance_start', 10_000, from);
      assert.deepEqual([start['utterance_id'], start['text_chars']], ['after-stop', 3]);
      await client.waitFor((m) => m.type === 'session_end' && m['utterance_id'] === 'after-stop', 30_000, from);
      assertGapFree(client.frames);
      client.close();
    });
  });

  test('a partial text counts toward LEGACY_MAX_TEXT_CHARS and is dropped with the text that overflows it', async () => {
    await withServer(engine(), { LEGACY_MAX_TEXT_CHARS: '100' }, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.send({ type: 'configure', utterance_events: true });
      client.say('a'.repeat(60), { is_final: false });
      client.say('b'.repeat(50));
      const error = await client.waitFor((m) => m.type === 'error');
      assert.equal(error['code'], 'TEXT_TOO_LONG');
      assert.match(String(error['message']), /110 characters exceeds the limit of 100/);
      client.say('Short.', { utterance_id: 'short' });
      const start = await client.waitFor((m) => m.type === 'utterance_start');
      assert.deepEqual([start['utterance_id'], start['text_chars']], ['short', 6], 'the dropped partial text came back');
      assert.equal((await client.waitFor((m) => m.type === 'session_end', 30_000))['reason'], 'completed');
      client.close();
    });
  });

  test('STOP ends the current and every queued text (stopped, in order), none of the queued ones starts, and the sequence goes on', async () => {
    await withServer(engine(), {}, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.send({ type: 'configure', utterance_events: true });
      client.say(LONG_TEXT, { utterance_id: 'current' });
      client.say('Queued one.', { utterance_id: 'q1' });
      client.say('Queued two.', { utterance_id: 'q2' });
      await eventually(() => client.frames.length > 0, 30_000, 'first frame');
      client.control('STOP');
      const ack = await client.waitFor((m) => m.type === 'control_ack');
      assert.deepEqual([ack['command'], ack['state'], ack['cleared']], ['STOP', 'idle', 3]);
      // each cancelled text got its end before the ack, in queue order
      const beforeAck = client.messages.slice(0, client.messages.indexOf(ack));
      const ids = ['current', 'q1', 'q2'];
      assert.deepEqual(
        beforeAck.filter((m) => m.type === 'utterance_end').map((m) => [m['utterance_id'], m['reason']]),
        ids.map((id) => [id, 'stopped']),
      );
      assert.deepEqual(
        beforeAck.filter((m) => m.type === 'session_end').map((m) => [m['utterance_id'], m['reason']]),
        ids.map((id) => [id, 'stopped']),
      );
      const stoppedAt = Number(ack['sequence']);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(client.frames.at(-1)!.sequence, stoppedAt, 'audio after STOP');
      assert.deepEqual(
        ofType(client, 'utterance_start').map((m) => m['utterance_id']),
        ['current'],
        'a cleared text started',
      );

      // the session goes on: the next text takes the next sequence
      const from = client.messages.length;
      client.say('After the stop.', { utterance_id: 'next' });
      const start = await client.waitFor((m) => m.type === 'utterance_start', 10_000, from);
      assert.equal(start['next_sequence'], stoppedAt + 1);
      assert.equal((await client.waitFor((m) => m.type === 'session_end', 30_000, from))['reason'], 'completed');
      assertGapFree(client.frames);
      client.close();
    });
  });

  test('STOP also ends a pause: the next text is spoken without RESUME', async () => {
    await withServer(engine(), {}, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.say(LONG_TEXT);
      await eventually(() => client.frames.length > 0, 30_000, 'first frame');
      client.control('PAUSE');
      assert.equal((await client.waitFor((m) => m.type === 'control_ack'))['state'], 'paused');
      const from = client.messages.length;
      client.control('STOP');
      const ack = await client.waitFor((m) => m.type === 'control_ack', 10_000, from);
      assert.deepEqual([ack['state'], ack['cleared']], ['idle', 1]);
      client.say('Not paused any more.');
      const end = await client.waitFor((m) => m.type === 'session_end' && m['reason'] !== 'stopped', 30_000, from);
      assert.equal(end['reason'], 'completed');
      assert.ok(client.frames.at(-1)!.sequence > Number(ack['sequence']) + 20, 'the new text was not spoken');
      assertGapFree(client.frames);
      client.close();
    });
  });
});

describe('legacy session: idle timeout', () => {
  test('audio in flight keeps a session alive; paused, it is idle: client messages keep it, silence ends it after LEGACY_IDLE_TIMEOUT_MS', async () => {
    // 2 s: a ping every 300 ms keeps a paused session alive even if this process stalls for a second
    const IDLE_MS = 2000;
    await withServer(engine(), { LEGACY_IDLE_TIMEOUT_MS: String(IDLE_MS), LEGACY_PACING: 'realtime' }, async (server) => {
      const client = await LegacyClient.connect(server.url);
      client.send({ type: 'configure', utterance_events: true });
      client.say(LONG_TEXT, { utterance_id: 'long' });
      await eventually(() => client.frames.length > 0, 30_000, 'first frame');
      // speaking for over twice the idle timeout without a word from the client: not idle
      await new Promise((r) => setTimeout(r, 2.5 * IDLE_MS));
      assert.equal(ofType(client, 'error').length, 0, 'timed out while audio was flowing');
      const framesWhileSpeaking = client.frames.length;
      assert.ok(framesWhileSpeaking > 100, `${framesWhileSpeaking} frames in ${2.5 * IDLE_MS} ms of realtime audio`);

      // paused but pinging: still there
      client.control('PAUSE');
      await client.waitFor((m) => m.type === 'control_ack');
      let lastMessageAt = performance.now();
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 300));
        lastMessageAt = performance.now();
        client.send({ type: 'ping', id: i });
      }
      await client.waitFor((m) => m.type === 'pong' && m['id'] === 7);
      assert.equal(ofType(client, 'error').length, 0, 'a paused session with client messages timed out');

      // paused and silent: idle, so it ends
      const error = await client.waitFor((m) => m.type === 'error', 10 * IDLE_MS);
      const silentFor = error.receivedAt - lastMessageAt;
      assert.equal(error['code'], 'IDLE_TIMEOUT');
      assert.ok(silentFor >= IDLE_MS - 5, `timed out ${silentFor.toFixed(0)} ms after the last message`);
      const end = await client.waitFor((m) => m.type === 'utterance_end');
      assert.deepEqual([end['utterance_id'], end['reason']], ['long', 'idle_timeout']);
      const sessionEnd = await client.waitFor((m) => m.type === 'session_end');
      assert.equal(sessionEnd['reason'], 'idle_timeout');
      assert.equal((await client.closed()).code, 1000);
      await eventually(() => server.status().active_sessions === 0, 5000, 'session released');
    });
  });
});

describe('legacy session: the control budget is separate from the text budget', () => {
  test('texts past their rate limit are refused while controls and pings all get through', async () => {
    // 2 texts, then one more every 10 s; controls keep the defaults (burst 100)
    await withServer(engine(), { LEGACY_RATE_LIMIT_PER_SEC: '0.1', LEGACY_RATE_LIMIT_BURST: '2' }, async (server) => {
      const started = performance.now();
      const client = await LegacyClient.connect(server.url);
      for (let i = 0; i < 6; i++) client.say(`Text number ${i}.`, { utterance_id: `t${i}` });
      const CONTROLS = 30;
      for (let i = 0; i < CONTROLS / 2; i++) {
        client.control(i % 2 === 0 ? 'PAUSE' : 'RESUME');
        client.send({ type: 'ping', id: i });
      }
      await client.waitFor((m) => m.type === 'pong' && m['id'] === CONTROLS / 2 - 1, 10_000);
      const seconds = (performance.now() - started) / 1000;
      const textBudget = 2 + 0.1 * seconds;
      const limited = ofType(client, 'error').filter((m) => m['code'] === 'RATE_LIMITED');
      assert.ok(limited.length >= 6 - Math.floor(textBudget), `only ${limited.length} of 6 texts refused in ${seconds.toFixed(1)} s`);
      assert.ok(
        limited.every((m) => /more than 0.1 messages per second/.test(String(m['message']))),
        'a control was refused',
      );
      assert.equal(ofType(client, 'pong').length, CONTROLS / 2);
      assert.equal(ofType(client, 'control_ack').length, CONTROLS / 2);
      assert.ok(CONTROLS > textBudget, 'the controls could have come from the text budget');
      client.control('STOP');
      client.close();
    });
  });

  test('controls and pings past their rate limit are refused while texts still get through', async () => {
    await withServer(engine(), { LEGACY_CONTROL_RATE_LIMIT_PER_SEC: '0.1', LEGACY_CONTROL_RATE_LIMIT_BURST: '2' }, async (server) => {
      const started = performance.now();
      const client = await LegacyClient.connect(server.url);
      for (let i = 0; i < 6; i++) client.send({ type: 'ping', id: i });
      await eventually(() => ofType(client, 'pong').length + ofType(client, 'error').length >= 6, 10_000, 'a reply to every ping');
      const seconds = (performance.now() - started) / 1000;
      const limited = ofType(client, 'error').filter((m) => m['code'] === 'RATE_LIMITED');
      assert.ok(ofType(client, 'pong').length <= 2 + Math.floor(0.1 * seconds), `${ofType(client, 'pong').length} pings answered`);
      assert.equal(limited.length, 6 - ofType(client, 'pong').length);
      assert.ok(limited.every((m) => /more than 0.1 control messages per second/.test(String(m['message']))));
      // the text budget is untouched
      const from = client.messages.length;
      client.say('Texts are not held back by the control budget.');
      client.send({ type: 'stats' });
      assert.equal((await client.waitFor((m) => m.type === 'session_end', 30_000, from))['reason'], 'completed');
      assert.equal(ofType(client, 'stats', from).length, 1);
      assert.equal(ofType(client, 'error', from).length, 0);
      client.close();
    });
  });
});

describe('legacy session: the speech engine fails mid-text', () => {
  test('the inference thread dying mid-text ends that text with SYNTHESIS_FAILED and reason error; the next text is spoken', async () => {
    const died: string[] = [];
    const own = new PiperEngine(
      {
        VOICES_DIR: testVoicesDir(),
        TTS_VOICE: TEST_VOICE,
        TTS_MAX_VOICES: 2,
        TTS_INTRA_OP_THREADS: 0,
        ESPEAK_LIBRARY: undefined,
        ESPEAK_DATA_PATH: undefined,
      },
      { onVoiceDied: (voice) => died.push(voice) },
    );
    try {
      await own.load(TEST_VOICE);
      // realtime pacing: the engine works one sentence ahead of what is heard, then waits, so there
      // are moments between inferences to kill the thread in (a kill inside an inference currently
      // aborts the whole process: test/tts/inference-worker.test.ts)
      await withServer(own, { LEGACY_PACING: 'realtime' }, async (server) => {
        const worker = await workerOf(own);
        const client = await LegacyClient.connect(server.url);
        client.send({ type: 'configure', utterance_events: true });
        client.say(LONG_TEXT, { utterance_id: 'doomed' });
        await eventually(() => client.frames.length > 0, 30_000, 'first frame');
        // check and kill in one synchronous step: no inference can start in between
        await eventually(
          () => {
            if (pendingOf(worker) > 0) return false;
            void worker.terminate();
            return true;
          },
          30_000,
          'the thread between two inferences',
        );
        const error = await client.waitFor((m) => m.type === 'error', 60_000);
        assert.deepEqual([error['code'], error['utterance_id']], ['SYNTHESIS_FAILED', 'doomed']);
        const end = await client.waitFor((m) => m.type === 'utterance_end');
        assert.deepEqual([end['utterance_id'], end['reason']], ['doomed', 'error']);
        assert.ok(Number(end['frames']) > 0 && Number(end['frames']) < 600, `${end['frames']} frames of the text went out before it failed`);
        assert.equal((await client.waitFor((m) => m.type === 'session_end'))['reason'], 'error');
        assert.deepEqual(died, [TEST_VOICE]);

        const from = client.messages.length;
        client.say('The voice is back.', { utterance_id: 'next' });
        const next = await client.waitFor((m) => m.type === 'utterance_end', 60_000, from);
        assert.deepEqual([next['utterance_id'], next['reason']], ['next', 'completed']);
        assert.ok(Number(next['frames']) > 30, `${next['frames']} frames`);
        assert.equal(next['first_sequence'], Number(end['last_sequence']) + 1);
        assertGapFree(client.frames);
        assert.deepEqual(own.voiceProblems(), []);
        client.close();
      });
    } finally {
      await own.close();
    }
  });
});

const pendingOf = (worker: InferenceWorker) => (worker as unknown as { pending: Map<number, unknown> }).pending.size;

/** The inference worker of the engine's default voice (reaching into private fields: test only). */
async function workerOf(engine: PiperEngine): Promise<InferenceWorker> {
  const lease = await (engine as unknown as { cache: VoiceCache }).cache.acquire(engine.defaultVoice);
  lease.release();
  return (lease.voice as unknown as { worker: InferenceWorker }).worker;
}
