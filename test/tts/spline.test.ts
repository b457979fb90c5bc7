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
import { denseSplines } from '../../src/tts/spline.js';
import { expInputs, maxDiff, opTypes, runVoiceOutputs, withOutputs } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { ModelProto } = onnxProto.onnx;

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
        const [a, b] = await Promise.all([
          runVoiceOutputs(withOutputs(model, logs, true), ids, noise),
          runVoiceOutputs(withOutputs(dense, logs, true), ids, noise),
        ]);
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
