/**
 * src/tts/relative-attention.ts on the test voice: the text encoder's six relative-position attention terms are
 * computed through a position map, the predicted log-durations and the audio agree within float rounding (noise off),
 * down to a one-id input. A layer whose terms are read from outside is left alone; so is anything that is not a voice.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { denseRelativeAttention } from '../../src/tts/relative-attention.js';
import { expInputs, maxDiff, opTypes, runVoiceOutputs, withOutputs } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { ModelProto } = onnxProto.onnx;
const FLOAT = onnxProto.onnx.TensorProto.DataType.FLOAT;

const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;

describe('dense relative attention', () => {
  it('computes the text encoder’s six relative-position terms through a position map, with the same durations and audio', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    const dense = denseRelativeAttention(model);
    assert.ok(dense, 'the voice has attention layers this recognises');
    const before = opTypes(model);
    const after = opTypes(dense);
    assert.equal(count(after, 'Range') - count(before, 'Range'), 6, 'one position map per layer');
    assert.ok(count(before, 'Pad') - count(after, 'Pad') >= 36, 'the six pads of each layer are gone');
    assert.ok(before.length - after.length > 300, `${before.length} -> ${after.length} nodes`);

    const logs = expInputs(model);
    assert.ok(logs.length > 0);
    for (const ids of [
      [1, 0, 41, 0, 120, 0, 14, 0, 3, 0, 59, 0, 25, 0, 100, 0, 17, 0, 10, 0, 2],
      [1, 0, 20, 0, 74, 0, 32, 0, 3, 0, 88, 0, 120, 0, 26, 0, 61, 0, 27, 0, 3, 0, 100, 0, 102, 0, 10, 0, 2],
      [1, 0, 41, 0, 2], // shorter than the window: the embeddings are cut, not padded
      [1],
    ]) {
      const [a, b] = await Promise.all([runVoiceOutputs(withOutputs(model, logs), ids), runVoiceOutputs(withOutputs(dense, logs), ids)]);
      for (const name of logs) assert.ok(maxDiff(a[name]!, b[name]!) < 1e-4, `${name} (${ids.length} ids)`);
      assert.ok(a.output!.length > 0);
      assert.ok(maxDiff(a.output!, b.output!) < 1e-4, `audio (${ids.length} ids)`);
    }
  });

  it('leaves a layer whose relative term is read from outside as it is, and what is not a voice', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    // the first layer's relative-key scores (what its queries-times-keys Add adds) made a graph output
    const m = ModelProto.decode(model);
    const softmax = m.graph!.node!.find((n) => n.opType === 'Softmax')!;
    const producer = (v: string) => m.graph!.node!.find((n) => n.output!.includes(v))!;
    const add = producer(producer(softmax.input![0]!).input![2]!);
    m.graph!.output!.push({ name: add.input![1]!, type: { tensorType: { elemType: FLOAT } } });
    const partly = denseRelativeAttention(ModelProto.encode(m).finish());
    assert.ok(partly);
    assert.equal(count(opTypes(partly), 'Range') - count(opTypes(model), 'Range'), 5, 'five layers rewritten, one left');
    assert.equal(denseRelativeAttention(new TextEncoder().encode('not a model')), undefined);
  });
});
