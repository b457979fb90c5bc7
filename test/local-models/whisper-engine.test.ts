/**
 * The local Whisper engine (src/local-models/stt/) on its own: model file errors with the real model,
 * and queueing, abort and worker crashes with a stand-in worker that speaks the worker protocol.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LocalModelFileError } from '../../src/local-models/model-files.js';
import { loudestWindowDbfs } from '../../src/local-models/stt/silence-gate.js';
import { audioContextFor, TranscriptionError, WhisperEngine } from '../../src/local-models/stt/whisper-engine.js';
import { firstPass, repeatsItself, SAFE_AUDIO_CTX, withoutRepetition } from '../../src/local-models/stt/whisper-worker-protocol.js';
import { createLogger } from '../../src/ops/logger.js';
import { requireWhisperModel } from '../support/whisper-model.js';

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

describe('WhisperEngine: model file errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vo-whisper-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rejectsWithFileError = async (path: string, pattern: RegExp) => {
    await assert.rejects(WhisperEngine.load({ modelPath: path }), (err: unknown) => {
      assert.ok(err instanceof LocalModelFileError, String(err));
      assert.match(err.message, /npm run setup/);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes(dir), `the message names no folder: ${err.message}`);
      return true;
    });
  };

  it('names the missing file and `npm run setup`', async () => {
    await rejectsWithFileError(join(dir, 'ggml-missing.bin'), /ggml-missing\.bin is not installed/);
  });

  it('refuses a file that is not a ggml model', async () => {
    const path = join(dir, 'ggml-junk.bin');
    await writeFile(path, Buffer.alloc(2 * 1024 * 1024, 7));
    await rejectsWithFileError(path, /ggml-junk\.bin is not a whisper\.cpp ggml model/);
  });

  it('refuses a ggml file that is cut short (the worker cannot load it)', async () => {
    const path = join(dir, 'ggml-cut.bin');
    await writeFile(path, (await readFile(requireWhisperModel())).subarray(0, 8 * 1024 * 1024));
    await rejectsWithFileError(path, /ggml-cut\.bin could not be loaded/);
  });
});

describe('WhisperEngine: queue, abort and worker crashes (stand-in worker)', () => {
  let dir: string;
  let workerUrl: URL;
  // Speaks the worker protocol: answers "heard N" after 150 ms for 30 000 + N samples (shorter clips are padded);
  // exits, as a crash would, for N = 1234.
  const STAND_IN = `
import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready', multilingual: false, languages: [{ code: 'en', name: 'english' }], loadMs: 1 });
parentPort.on('message', (msg) => {
  const n = msg.samples.length - 30000;
  if (n === 1234) process.exit(3);
  setTimeout(() => parentPort.postMessage({ type: 'result', id: msg.id, text: ' heard ' + n, segments: [], ms: 150 }), 150);
});
`;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vo-whisper-worker-'));
    const path = join(dir, 'stand-in-worker.mjs');
    await writeFile(path, STAND_IN);
    workerUrl = pathToFileURL(path);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const load = (maxQueue = 2) => WhisperEngine.load({ modelPath: join(dir, 'unused.bin'), workerUrl, maxQueue, logger });
  const samples = (n: number) => new Float32Array(30_000 + n);
  const code = (c: string) => (err: unknown) => err instanceof TranscriptionError && err.code === c;

  it('fails the request a dying worker was running, restarts it and serves the queue', async () => {
    const engine = await load();
    try {
      const crashing = engine.transcribe(samples(1234));
      const queued = engine.transcribe(samples(100));
      await assert.rejects(crashing, code('worker_failed'));
      assert.equal((await queued).text, 'heard 100');
      assert.equal(engine.stats.restarts, 1);
      assert.equal((await engine.transcribe(samples(5))).text, 'heard 5');
      assert.ok(engine.ready);
    } finally {
      await engine.dispose();
    }
  });

  it('refuses requests beyond maxQueue with queue_full', async () => {
    const engine = await load(1);
    try {
      const first = engine.transcribe(samples(1));
      const second = engine.transcribe(samples(2));
      await assert.rejects(engine.transcribe(samples(3)), code('queue_full'));
      assert.equal(engine.stats.refused, 1);
      assert.deepEqual(
        (await Promise.all([first, second])).map((t) => t.text),
        ['heard 1', 'heard 2'],
      );
    } finally {
      await engine.dispose();
    }
  });

  it('rejects an aborted request at once, queued or running, and keeps serving', async () => {
    const engine = await load();
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const a = engine.transcribe(samples(1), { signal: running.signal });
      const b = engine.transcribe(samples(2), { signal: queued.signal });
      const c = engine.transcribe(samples(3));
      queued.abort();
      running.abort();
      await assert.rejects(a, code('aborted'));
      await assert.rejects(b, code('aborted'));
      assert.equal((await c).text, 'heard 3');
      await assert.rejects(engine.transcribe(samples(4), { signal: AbortSignal.abort() }), code('aborted'));
    } finally {
      await engine.dispose();
    }
  });

  it('checks language and temperature, and fails the queue but finishes the running request on dispose', async () => {
    const engine = await load();
    await assert.rejects(engine.transcribe(samples(1), { language: 'fr' }), code('unsupported_language'));
    await assert.rejects(engine.transcribe(samples(1), { temperature: 3 }), code('invalid_audio'));
    const running = engine.transcribe(samples(7));
    const queued = assert.rejects(engine.transcribe(samples(8)), code('disposed'));
    await engine.dispose();
    assert.equal((await running).text, 'heard 7');
    await queued;
    await assert.rejects(engine.transcribe(samples(1)), code('disposed'));
    assert.equal(engine.ready, false);
  });

  it('measures the level of the loudest 20 ms, ignoring a DC offset', () => {
    assert.equal(loudestWindowDbfs(new Float32Array(16_000)), -Infinity);
    assert.equal(loudestWindowDbfs(new Float32Array(0)), -Infinity);
    assert.equal(loudestWindowDbfs(new Float32Array(16_000).fill(0.25)), -Infinity);
    const sine = (amplitude: number, n: number) => new Float32Array(n).map((_, i) => amplitude * Math.sin((2 * Math.PI * 440 * i) / 16_000));
    assert.ok(Math.abs(loudestWindowDbfs(sine(1, 16_000)) + 3.01) < 0.1);
    // 30 ms of a -20 dBFS-peak tone inside 3 s of silence is still heard at its own level
    const burst = new Float32Array(48_000);
    burst.set(sine(0.1, 480), 24_000);
    assert.ok(Math.abs(loudestWindowDbfs(burst) + 23) < 0.5, `${loudestWindowDbfs(burst)}`);
    // shorter than a window: the clip is one window
    assert.ok(Math.abs(loudestWindowDbfs(sine(1, 200)) + 3) < 0.5);
  });

  it('scales the encoder context to short clips and uses the full window otherwise', () => {
    assert.equal(audioContextFor(16_000 * 2, 'auto'), 512);
    assert.equal(audioContextFor(16_000 * 20, 'auto'), 1064);
    assert.equal(audioContextFor(16_000 * 29, 'auto'), 0);
    assert.equal(audioContextFor(16_000 * 45, 'auto'), 0);
    assert.equal(audioContextFor(16_000 * 2, 'full'), 0);
  });

  it('caps only an English first pass below the safe context, and knows a transcript that loops', () => {
    assert.deepEqual(firstPass(16_000 * 3, 512, 'en'), { audioCtx: 512, maxTokens: 3 * 8 + 16 });
    assert.deepEqual(firstPass(16_000 * 3, 512, 'ja'), { audioCtx: SAFE_AUDIO_CTX, maxTokens: 0 });
    assert.deepEqual(firstPass(16_000 * 20, 1064, 'en'), { audioCtx: 1064, maxTokens: 0 });
    assert.deepEqual(firstPass(16_000 * 40, 0, 'en'), { audioCtx: 0, maxTokens: 0 });
    assert.equal(repeatsItself('What color is grass? What color is grass? What'), true);
    assert.equal(repeatsItself('Yes, yes, I know.'), false);
    assert.equal(repeatsItself('What is the capital of France?'), false);
    assert.equal(repeatsItself('I said it is what it is, it is.'), false);
    // a transcript that is one phrase over and over is cut to its first time, segments included
    const twice = 'Thank you very much for your help. Thank you very much for your help.';
    const segment = (text: string, startMs: number) => ({ text, startMs, endMs: startMs + 1000 });
    assert.deepEqual(withoutRepetition(twice, [segment('Thank you very much for your help.', 0), segment('Thank you very much for your help.', 1000)]), {
      text: 'Thank you very much for your help.',
      segments: [segment('Thank you very much for your help.', 0)],
    });
    assert.equal(withoutRepetition('Where is the station? Where is the station?', []).text, 'Where is the station?');
    for (const kept of [
      'Turn it off, turn it off, turn it off!',
      'Yes. Yes.',
      'What is the capital of France?',
      'What color is grass? What color is grass? What',
      'No no no no.',
    ]) {
      assert.equal(withoutRepetition(kept, []).text, kept, kept);
    }
  });
});
