/**
 * The local speech-to-text server with the REAL default model (Moonshine tiny, English, run by sherpa-onnx-node;
 * laid out by scripts/setup/moonshine.sh) and the REAL openai client, on speech the repo's Piper engine
 * synthesizes: short utterances, one longer than the model takes at once, and the engine's queue, abort and
 * model-file checks.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { concatInt16, encodeWav, Resampler } from '../../src/audio/index.js';
import { checkedMoonshineModel, LocalModelFileError } from '../../src/local-models/model-files.js';
import { MoonshineEngine, segments } from '../../src/local-models/stt/moonshine-engine.js';
import { startTranscriptionServer, type TranscriptionServer } from '../../src/local-models/stt/transcription-server.js';
import type { TranscriptionError } from '../../src/local-models/stt/transcription-types.js';
import { createLogger } from '../../src/ops/logger.js';
import { type Clip, piperClips } from '../support/piper-clips.js';
import { MOONSHINE_MODEL, requireMoonshineModel } from '../support/moonshine-model.js';
import { wordAccuracy } from '../support/word-accuracy.js';

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

const SENTENCES = [
  'The weather is nice today.',
  'Please open the door for me.',
  'I would like a cup of coffee.',
  'Turn off the lights when you leave.',
  'Can you tell me where the station is?',
  'What is the capital city of France?',
];

const toFloat16k = (clip: Clip) => Float32Array.from(Resampler.oneShot(clip.pcm, clip.sampleRate, 16_000), (v) => v / 32768);

describe('local speech-to-text: Moonshine tiny (English) with the real model', { timeout: 300_000 }, () => {
  let engine: MoonshineEngine;
  let server: TranscriptionServer;
  let client: OpenAI;
  const clips: Clip[] = [];

  before(async () => {
    clips.push(...(await piperClips(SENTENCES)));
    engine = await MoonshineEngine.load({ files: requireMoonshineModel(), name: MOONSHINE_MODEL, maxQueue: 1, logger });
    server = await startTranscriptionServer({ host: '127.0.0.1', port: 0, engine, logger, maxAudioSeconds: 60, modelName: MOONSHINE_MODEL });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${server.port}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  after(async () => {
    await server?.stop(Date.now() + 2000);
    await engine?.dispose();
  });

  it('transcribes Piper speech through the official openai client with high word accuracy', async (t) => {
    let words = 0;
    let weighted = 0;
    for (const clip of clips) {
      const file = await toFile(Buffer.from(encodeWav(clip.pcm, clip.sampleRate, 1)), 'a.wav');
      const result = await client.audio.transcriptions.create({ file, model: 'whisper-1', response_format: 'verbose_json' });
      const accuracy = wordAccuracy(clip.text, result.text);
      t.diagnostic(`${accuracy.toFixed(2)}: "${result.text}"`);
      assert.equal(result.language, 'english');
      assert.ok(accuracy >= 0.6, `"${clip.text}" heard as "${result.text}"`);
      const n = clip.text.split(/\s+/).length;
      words += n;
      weighted += accuracy * n;
    }
    assert.ok(weighted / words >= 0.9, `word accuracy ${((weighted / words) * 100).toFixed(1)} % is below 90 %`);
  });

  it('transcribes an utterance longer than the model takes at once (10 s and more) in segments cut at pauses', async () => {
    const gap = new Int16Array(clips[0]!.sampleRate / 4);
    const parts = clips.flatMap((clip) => [clip.pcm, gap]);
    const long: Clip = { text: SENTENCES.join(' '), pcm: concatInt16([...parts, ...parts.slice(0, 4)]), sampleRate: clips[0]!.sampleRate };
    long.text = `${long.text} ${SENTENCES.slice(0, 2).join(' ')}`;
    const samples = toFloat16k(long);
    assert.ok(samples.length / 16_000 > 12, `${(samples.length / 16_000).toFixed(1)} s of speech`);
    assert.ok(segments(samples).length >= 2);
    const { text } = await engine.transcribe(samples);
    // (one piece lost would cost about half the words; Piper's speech varies from run to run, and Moonshine has
    // been measured to mishear its first sentence at the start of a long piece: 0.84)
    assert.ok(wordAccuracy(long.text, text) >= 0.7, `heard "${text}"`);
  });

  it('cuts audio only between words where it can, and keeps every sample', () => {
    const rate = 16_000;
    // 20 s of a loud tone with a silent 100 ms at 6.5 s and at 13 s
    const samples = new Float32Array(rate * 20).map((_, i) => Math.sin(i / 3) * 0.5);
    for (const at of [6.5, 13]) samples.fill(0, at * rate, (at + 0.1) * rate);
    const parts = segments(samples);
    assert.equal(
      parts.reduce((n, p) => n + p.length, 0),
      samples.length,
    );
    assert.ok(parts.every((p) => p.length <= 8 * rate));
    const ends = parts.slice(0, -1).map((p) => p.byteOffset / 4 + p.length);
    assert.ok(
      ends.every((end) => samples[end] === 0 || samples[end - 1] === 0),
      `cuts at ${ends.map((e) => (e / rate).toFixed(2))} s`,
    );
  });

  it('answers requests one at a time: a waiting one can be aborted, and more than maxQueue are refused', async () => {
    const samples = toFloat16k(clips[0]!);
    const running = engine.transcribe(samples);
    const controller = new AbortController();
    const waiting = engine.transcribe(samples, { signal: controller.signal });
    await assert.rejects(engine.transcribe(samples), (err: TranscriptionError) => err.code === 'queue_full');
    controller.abort();
    await assert.rejects(waiting, (err: TranscriptionError) => err.code === 'aborted');
    assert.ok(wordAccuracy(clips[0]!.text, (await running).text) >= 0.6);
    await assert.rejects(engine.transcribe(samples, { language: 'de' }), (err: TranscriptionError) => err.code === 'unsupported_language');
  });

  it('names the setting and the set-up command when the model folder is missing or damaged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vo-moonshine-'));
    try {
      assert.throws(
        () => checkedMoonshineModel(dir, MOONSHINE_MODEL, 'LOCAL_STT_MODEL'),
        (err: Error) => {
          assert.ok(err instanceof LocalModelFileError);
          assert.match(err.message, /LOCAL_STT_MODEL: the local model moonshine-tiny-en is not in MODELS_DIR; run `npm run setup`/);
          assert.ok(!err.message.includes(dir), 'no machine path in the message');
          return true;
        },
      );
      const folder = join(dir, MOONSHINE_MODEL);
      mkdirSync(folder);
      const real = requireMoonshineModel();
      copyFileSync(real.encoder, join(folder, 'encoder_model.ort'));
      copyFileSync(real.tokens, join(folder, 'tokens.txt'));
      writeFileSync(join(folder, 'decoder_model_merged.ort'), 'not a model');
      assert.throws(() => checkedMoonshineModel(dir, MOONSHINE_MODEL, 'LOCAL_STT_MODEL'), /incomplete or damaged \(decoder_model_merged\.ort\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses requests once disposed', async () => {
    const own = await MoonshineEngine.load({ files: requireMoonshineModel(), logger });
    await own.dispose();
    await assert.rejects(own.transcribe(new Float32Array(16_000)), (err: TranscriptionError) => err.code === 'disposed');
  });
});
