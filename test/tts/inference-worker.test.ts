/**
 * The inference worker thread (src/tts/inference-worker.ts) on a real onnxruntime session of the
 * tiny Piper-signature model, and what the engine does when that thread dies mid-request.
 * The thread is killed with terminate(). Killed between inferences, that is in-process here; killed
 * inside one it currently takes the whole process down (onnxruntime-node aborts), so that case
 * runs in a child process (test/support/tts/die-mid-inference.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PiperEngine } from '../../src/tts/engine.js';
import { InferenceWorker, type WorkerRunRequest } from '../../src/tts/inference-worker.js';
import type { VoiceCache } from '../../src/tts/voice-cache.js';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { PeerProcess } from '../support/child-process.js';
import { HOP, writeTinyVoice, tinyEngineConfig } from '../support/tts/tiny-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vo-worker-'));
  await writeTinyVoice(dir, 'tiny', { phonemeType: 'text' });
  await writeFile(join(dir, 'not-a-model.onnx'), 'this is not an ONNX model');
});
after(() => rm(dir, { recursive: true, force: true }));

const OPTIONS = { intraOpNumThreads: 1, allowSpinning: false };
const start = () => InferenceWorker.start(join(dir, 'tiny.onnx'), OPTIONS);

function request(n: number, lengthScale = 1): WorkerRunRequest {
  return { ids: Int32Array.from({ length: n }, (_, i) => 3 + (i % 40)), scales: Float32Array.of(0.667, lengthScale, 0.8), speakerId: undefined };
}

/** The tiny model's output length: floor(ids * 256 * length_scale) samples. */
const samplesFor = (n: number, lengthScale = 1) => Math.floor(n * HOP * lengthScale);

describe('InferenceWorker', () => {
  it('runs the model on its thread and answers each request with its own audio, in order', async () => {
    const worker = await start();
    try {
      assert.deepEqual([...worker.inputNames].sort(), ['input', 'input_lengths', 'scales']);
      const sizes = [5, 40, 1, 17, 3];
      const results = await Promise.all(sizes.map((n) => worker.run(request(n))));
      assert.deepEqual(
        results.map((a) => a.length),
        sizes.map((n) => samplesFor(n)),
      );
      assert.ok(results.every((a) => a instanceof Float32Array && a.every((v) => Math.abs(v) <= 0.4 + 1e-6)));
      assert.equal((await worker.run(request(10, 2))).length, samplesFor(10, 2), 'length_scale reaches the model');
      assert.equal(worker.alive, true);
    } finally {
      await worker.close();
    }
  });

  it('refuses a file that is not a model with onnxruntime’s reason', async () => {
    await assert.rejects(
      InferenceWorker.start(join(dir, 'not-a-model.onnx'), OPTIONS),
      (err: Error) => err.message.length > 0 && !/inference worker stopped/.test(err.message),
    );
  });

  it('a thread that dies with requests waiting rejects every one, reports its death once, and refuses new requests at once', async () => {
    const worker = await start();
    const deaths: Error[] = [];
    worker.onDeath((err) => deaths.push(err));
    // killed before it could start on any of them: a kill during an inference is the child-process test below
    const dying = worker.terminate();
    const waiting = [worker.run(request(20_000)), worker.run(request(10)), worker.run(request(20))];
    const outcomes = Promise.allSettled(waiting);
    await dying;
    const settled = await outcomes;
    for (const [i, outcome] of settled.entries()) {
      assert.equal(outcome.status, 'rejected', `request ${i} did not fail`);
      assert.match(String((outcome as PromiseRejectedResult).reason?.message), /inference worker stopped \(exit code \d+\)/);
    }
    assert.equal(worker.alive, false);
    assert.equal(deaths.length, 1, 'death reported once');
    assert.match(deaths[0]!.message, /inference worker stopped/);
    // a listener added after the death hears of it at once
    const late: Error[] = [];
    worker.onDeath((err) => late.push(err));
    assert.equal(late.length, 1);
    await assert.rejects(worker.run(request(5)), /inference worker stopped/);
    await worker.close(); // nothing left to free; must not hang
    assert.equal(deaths.length, 1);
  });

  it('close() finishes the queued requests first, is not a death, and refuses requests afterwards', async () => {
    const worker = await start();
    const deaths: Error[] = [];
    worker.onDeath((err) => deaths.push(err));
    const queued = [worker.run(request(3)), worker.run(request(30)), worker.run(request(300))];
    await worker.close();
    assert.deepEqual(
      (await Promise.all(queued)).map((a) => a.length),
      [3, 30, 300].map((n) => samplesFor(n)),
    );
    assert.equal(worker.alive, false);
    assert.deepEqual(deaths, []);
    await assert.rejects(worker.run(request(3)), /the voice was unloaded/);
  });
});

describe('the engine when a voice’s inference thread dies mid-request', () => {
  it('the request rejects, the voice is reloaded without waiting for a request, and the next request works and sounds the same', async () => {
    const died: Array<{ voice: string; error: Error }> = [];
    const engine = new PiperEngine(tinyEngineConfig(dir, { TTS_MAX_PHONEMES_PER_CHUNK: 50 }), { onVoiceDied: (voice, error) => died.push({ voice, error }) });
    try {
      await engine.load();
      // a text of several chunks (50 phonemes each at most): the thread dies while it is being spoken
      const text = 'a long text that is cut into several chunks, '.repeat(6);
      const before: Int16Array[] = [];
      for await (const chunk of engine.synthesize(text)) before.push(chunk.pcm);
      assert.ok(before.length >= 4, `${before.length} chunks`);

      const first = await workerOf(engine, 'tiny');
      const got: Int16Array[] = [];
      const speaking = (async () => {
        for await (const chunk of engine.synthesize(text)) {
          got.push(chunk.pcm);
          if (got.length === 1) {
            // between two inferences of the text (the next one is requested right after this turn);
            // killing a thread inside an inference is the child-process test below
            assert.equal(pendingOf(first), 0);
            await first.terminate();
          }
        }
      })();
      await assert.rejects(speaking, /inference worker stopped/);
      assert.equal(got.length, 1, 'no chunk after the death');
      assert.deepEqual(
        died.map((d) => d.voice),
        ['tiny'],
      );
      assert.match(died[0]!.error.message, /inference worker stopped/);

      // reloaded in the background: healthy again before anyone asks for speech
      const deadline = Date.now() + 10_000;
      while (engine.voiceProblems().length > 0) {
        assert.ok(Date.now() < deadline, `still degraded: ${engine.voiceProblems().join('; ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(engine.loadedVoices(), ['tiny']);
      const second = await workerOf(engine, 'tiny');
      assert.notEqual(second, first, 'a new thread');
      assert.equal(second.alive, true);

      const after: Int16Array[] = [];
      for await (const chunk of engine.synthesize(text)) after.push(chunk.pcm);
      assert.deepEqual(after, before, 'the reloaded voice speaks the text exactly as before the crash');
      assert.equal(died.length, 1);
    } finally {
      await engine.close();
    }
  });

  it('a death while nobody is speaking is noticed and repaired; a request arriving during the reload waits for it and works', async () => {
    const died: string[] = [];
    const engine = new PiperEngine(
      { VOICES_DIR: dir, TTS_VOICE: 'tiny', TTS_MAX_VOICES: 2, TTS_INTRA_OP_THREADS: 1, ESPEAK_LIBRARY: undefined, ESPEAK_DATA_PATH: undefined },
      { onVoiceDied: (voice) => died.push(voice) },
    );
    try {
      await engine.load();
      const first = await workerOf(engine, 'tiny');
      assert.equal(pendingOf(first), 0);
      await first.terminate();
      // straight away, while the reload may still be running
      let samples = 0;
      for await (const chunk of engine.synthesize('right after the crash')) samples += chunk.pcm.length;
      assert.equal(samples, samplesFor(2 * 'right after the crash'.length + 3), 'ids: ^ _ (symbol _)* $');
      assert.deepEqual(died, ['tiny']);
      assert.notEqual(await workerOf(engine, 'tiny'), first);
    } finally {
      await engine.close();
    }
  });
});

describe('a voice’s inference thread killed inside an inference (real voice, in a child process)', () => {
  it('does not take the process down: the request rejects, the voice is reloaded and the next request works', async () => {
    requireTestVoice();
    const child = new PeerProcess({
      name: 'die-mid-inference',
      command: process.execPath,
      args: ['--import', 'tsx', 'test/support/tts/die-mid-inference.ts'],
      cwd: PROJECT_ROOT,
      keepLines: 200,
    });
    assert.ok(await child.exitsWithin(180_000), `still running after 3 minutes:\n${child.output()}`);
    const exit = await child.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `the process ended with ${JSON.stringify(exit)}:\n${child.output()}`);
    const line = child
      .output()
      .split('\n')
      .findLast((l) => l.startsWith('{'));
    assert.ok(line, child.output());
    const result = JSON.parse(line) as { inFlightAtKill: number; rejected: boolean; message: string; died: string[]; problems: string[]; samplesAfter: number };
    assert.equal(result.inFlightAtKill, 1, 'the inference was not in flight when the thread was killed');
    assert.equal(result.rejected, true, 'the request in flight did not fail');
    assert.match(result.message, /inference worker stopped/);
    assert.deepEqual(result.died, [TEST_VOICE]);
    assert.deepEqual(result.problems, [], 'the voice was not reloaded');
    assert.ok(result.samplesAfter > 10_000, `${result.samplesAfter} samples after the reload`);
  });
});

/** The inference worker of a loaded voice (reaching into private fields: test only). */
const pendingOf = (worker: InferenceWorker) => (worker as unknown as { pending: Map<number, unknown> }).pending.size;

async function workerOf(engine: PiperEngine, voice: string): Promise<InferenceWorker> {
  const lease = await (engine as unknown as { cache: VoiceCache }).cache.acquire(voice);
  lease.release();
  return (lease.voice as unknown as { worker: InferenceWorker }).worker;
}
