/**
 * src/tts/model-rewrites.ts and the inference thread: a voice is loaded with the rewrites asked for (the product
 * default: all four), each one that applies is reported, and the rewritten voice speaks.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VARIABLES } from '../../src/config/schema.js';
import { PiperEngine } from '../../src/tts/engine.js';
import { InferenceWorker } from '../../src/tts/inference-worker.js';
import { rewriteModel } from '../../src/tts/model-rewrites.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

describe('model rewrites', () => {
  it('applies the rewrites asked for, in order, and returns the model itself when none is', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    let steps = 0;
    const all = rewriteModel(
      () => model,
      { denseSplines: true, denseAttention: true, fuseLayerNorms: true, widenConvolutions: true },
      () => steps++,
    );
    assert.deepEqual(all.applied, ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d']);
    assert.equal(steps, 4, 'called after each rewrite');
    assert.notEqual(all.model, model);
    assert.deepEqual(rewriteModel(() => model, { denseSplines: false, denseAttention: false, fuseLayerNorms: true, widenConvolutions: false }).applied, [
      'layer-norm',
    ]);
    const none = rewriteModel(
      () => model,
      { denseSplines: false, denseAttention: false, fuseLayerNorms: false, widenConvolutions: false },
      () => steps++,
    );
    assert.deepEqual(none.applied, []);
    assert.equal(none.model, model);
    assert.equal(steps, 4, 'not called when nothing applied');
    const notAModel = new TextEncoder().encode('not a model');
    assert.deepEqual(
      rewriteModel(() => notAModel, { denseSplines: true, denseAttention: true, fuseLayerNorms: true, widenConvolutions: true }),
      { model: notAModel, applied: [] },
    );
  });

  it('all are on by default (TTS_DENSE_SPLINES, TTS_DENSE_ATTENTION, TTS_FUSE_LAYER_NORMS, TTS_WIDE_CONVOLUTIONS, TTS_PARALLEL_DECODER)', () => {
    assert.equal(VARIABLES.TTS_PARALLEL_DECODER.default, 'true');
    assert.equal(VARIABLES.TTS_DENSE_SPLINES.default, 'true');
    assert.equal(VARIABLES.TTS_DENSE_ATTENTION.default, 'true');
    assert.equal(VARIABLES.TTS_FUSE_LAYER_NORMS.default, 'true');
    assert.equal(VARIABLES.TTS_WIDE_CONVOLUTIONS.default, 'true');
  });

  it('the inference thread loads a voice with the rewrites asked for, and it speaks', async () => {
    const path = join(requireTestVoice(), `${TEST_VOICE}.onnx`);
    for (const [options, rewrites] of [
      [
        { denseSplines: true, denseAttention: true, fuseLayerNorms: true, widenConvolutions: true },
        ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d'],
      ],
      [{ fuseLayerNorms: false, widenConvolutions: true }, ['conv2d']],
      [{ denseSplines: true }, ['dense-spline']],
      [{ denseAttention: true }, ['dense-attention']],
      [{ fuseLayerNorms: true }, ['layer-norm']],
      [{}, []],
    ] as const) {
      const worker = await InferenceWorker.start(path, { intraOpNumThreads: 1, allowSpinning: false, ...options });
      try {
        assert.deepEqual(worker.rewrites, rewrites, JSON.stringify(options));
        const audio = await worker.run({ ids: Int32Array.of(1, 0, 41, 0, 120, 0, 2), scales: Float32Array.of(0.667, 1, 0.8), speakerId: undefined });
        assert.ok(audio.length > 0);
      } finally {
        await worker.close();
      }
    }
  });

  it('with the decoder in slices on 2 threads, the inference thread speaks the same audio as the whole model', async () => {
    const path = join(requireTestVoice(), `${TEST_VOICE}.onnx`);
    const rewrites = { denseSplines: true, denseAttention: true, fuseLayerNorms: true, widenConvolutions: true };
    const [whole, sliced, oneThread] = await Promise.all([
      InferenceWorker.start(path, { intraOpNumThreads: 2, allowSpinning: false, ...rewrites }),
      InferenceWorker.start(path, { intraOpNumThreads: 2, allowSpinning: false, ...rewrites, parallelDecoder: true }),
      InferenceWorker.start(path, { intraOpNumThreads: 1, allowSpinning: false, parallelDecoder: true }),
    ]);
    try {
      assert.deepEqual(sliced.rewrites, ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d', 'parallel-decoder']);
      assert.deepEqual(oneThread.rewrites, [], 'one thread: the model runs whole');
      const noiseOff = Float32Array.of(0, 1, 0);
      const short = [1, 0, 41, 0, 2]; // fewer frames than two slices need: one slice
      const sentence = [1, 0, 20, 0, 74, 0, 32, 0, 3, 0, 88, 0, 120, 0, 26, 0, 61, 0, 27, 0, 3, 0, 100, 0, 102, 0, 10, 0, 2];
      for (const ids of [sentence, short]) {
        const run = (w: InferenceWorker) => w.run({ ids: Int32Array.from(ids), scales: noiseOff, speakerId: undefined });
        const [a, b] = await Promise.all([run(whole), run(sliced)]);
        assert.ok(a.length > 0);
        assert.equal(b.length, a.length, `${ids.length} ids`);
        assert.ok(
          b.every((x, i) => Math.abs(x - a[i]!) < 1e-5),
          `${ids.length} ids`,
        );
      }
      // sentences queued at once come back whole and in order
      const queued = await Promise.all(
        [sentence, short, sentence].map((ids) => sliced.run({ ids: Int32Array.from(ids), scales: noiseOff, speakerId: undefined })),
      );
      assert.deepEqual(
        queued.map((q) => q.length),
        [queued[0]!.length, queued[1]!.length, queued[0]!.length],
      );
      assert.ok(queued[0]!.length > queued[1]!.length);
    } finally {
      await Promise.all([whole.close(), sliced.close(), oneThread.close()]);
    }
  });

  it('the engine loads voices with all four unless told otherwise, and says which applied', async () => {
    const base = {
      VOICES_DIR: requireTestVoice(),
      TTS_VOICE: TEST_VOICE,
      TTS_MAX_VOICES: 1,
      TTS_INTRA_OP_THREADS: 1,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    };
    for (const [settings, rewrites] of [
      [{}, ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d']],
      [{ TTS_INTRA_OP_THREADS: 2 }, ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d', 'parallel-decoder']],
      [{ TTS_INTRA_OP_THREADS: 2, TTS_PARALLEL_DECODER: false }, ['dense-spline', 'dense-attention', 'layer-norm', 'conv2d']],
      [{ TTS_DENSE_SPLINES: false, TTS_DENSE_ATTENTION: false, TTS_FUSE_LAYER_NORMS: false, TTS_WIDE_CONVOLUTIONS: false }, []],
    ] as const) {
      const engine = new PiperEngine({ ...base, ...settings });
      try {
        assert.deepEqual((await engine.voiceInfo()).modelRewrites, rewrites, JSON.stringify(settings));
      } finally {
        await engine.close();
      }
    }
  });
});
