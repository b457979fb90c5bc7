/**
 * src/tts/spline.ts on the test voice: the duration predictor's three masked splines become dense ones, the predicted
 * log-durations agree within float rounding (noise on, seeded alike in both models), and the audio is the same.
 * A flow whose spline is read from outside is left alone; so is anything that is not a Piper voice.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { denseSplines } from '../../src/tts/spline.js';
import { maxDiff, opTypes } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { ModelProto } = onnxProto.onnx;

/** `model` with its random nodes seeded (so two models draw the same noise) and `extra` values as graph outputs. */
function seeded(model: Uint8Array, extra: string[] = []): Uint8Array {
  const m = ModelProto.decode(model);
  for (const n of m.graph!.node!) {
    if (!n.opType!.startsWith('Random')) continue;
    n.attribute = [...n.attribute!.filter((a) => a.name !== 'seed'), { name: 'seed', f: 42, type: onnxProto.onnx.AttributeProto.AttributeType.FLOAT }];
  }
  for (const name of extra) m.graph!.output!.push({ name, type: { tensorType: { elemType: onnxProto.onnx.TensorProto.DataType.FLOAT } } });
  return ModelProto.encode(m).finish();
}

/** The values each Exp node reads (the log-durations among them), by name. */
function expInputs(model: Uint8Array): string[] {
  return ModelProto.decode(model)
    .graph!.node!.filter((n) => n.opType === 'Exp')
    .map((n) => n.input![0]!);
}

async function runAll(model: Uint8Array, ids: number[], noise: boolean): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({
      input: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length)), [1]),
      scales: new ort.Tensor('float32', noise ? Float32Array.of(0.667, 1, 0.8) : Float32Array.of(0, 1, 0), [3]),
    });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;

describe('dense splines', () => {
  it('replaces the duration predictor’s three masked splines, with the same durations and audio', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    const dense = denseSplines(model);
    assert.ok(dense, 'the voice has splines this recognises');
    const before = opTypes(model);
    const after = opTypes(dense);
    assert.equal(count(before, 'NonZero'), 12);
    assert.equal(count(after, 'NonZero'), 0, 'no masked indexing left');
    assert.equal(count(after, 'ScatterND'), 0);
    assert.ok(before.length - after.length > 700, `${before.length} -> ${after.length} nodes`);

    const logs = expInputs(model);
    assert.ok(logs.length > 0);
    const sentences = [
      [1, 0, 41, 0, 120, 0, 14, 0, 3, 0, 59, 0, 25, 0, 100, 0, 17, 0, 10, 0, 2],
      [1, 0, 20, 0, 74, 0, 32, 0, 3, 0, 88, 0, 120, 0, 26, 0, 61, 0, 27, 0, 3, 0, 100, 0, 102, 0, 10, 0, 2],
    ];
    for (const ids of sentences) {
      for (const noise of [false, true]) {
        const [a, b] = await Promise.all([runAll(seeded(model, logs), ids, noise), runAll(seeded(dense, logs), ids, noise)]);
        for (const name of logs) assert.ok(maxDiff(a[name]!, b[name]!) < 1e-5, `${name} (noise ${noise})`);
        const [audioA, audioB] = [a.output!, b.output!];
        assert.ok(audioA.length > 1000);
        assert.ok(maxDiff(audioA, audioB) < 1e-4, `audio (noise ${noise})`);
      }
    }
  });

  it('leaves a flow whose spline values are read from outside as it is, and what is not a voice', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    // one ScatterND's result made a graph output: that flow's spline is needed as it is
    const m = ModelProto.decode(model);
    const scatter = m.graph!.node!.find((n) => n.opType === 'ScatterND')!;
    m.graph!.output!.push({ name: scatter.output![0]!, type: { tensorType: { elemType: onnxProto.onnx.TensorProto.DataType.FLOAT } } });
    const partly = denseSplines(ModelProto.encode(m).finish());
    assert.ok(partly);
    assert.equal(count(opTypes(partly), 'NonZero'), 4, 'two flows rewritten, one left');
    assert.equal(denseSplines(new TextEncoder().encode('not a model')), undefined);
  });
});
