/**
 * src/tts/decoder-tail.ts on the test voice, as the file is and as the engine rewrites it: the model is cut before its
 * decoder's second upsampler; the head and the tail together make the whole model's audio, and so do time slices of the
 * tail that overlap by the computed halo (noise off, so the audio is deterministic), while a smaller overlap changes it;
 * the tail computes its last stage in 4 chunks.
 * A model whose tail is read from outside or is not time-local is left whole; so is what is not a model.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { type DecoderTailSplit, splitDecoderTail } from '../../src/tts/decoder-tail.js';
import { rewriteModel } from '../../src/tts/model-rewrites.js';
import { deterministicVoiceFeeds, maxDiff, opTypes, withOutputs } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { ModelProto } = onnxProto.onnx;

const session = (model: Uint8Array) => ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });

/** The tail run on `cut` in `count` slices that overlap by `halo` samples of it, each keeping its own part. */
async function tailInSlices(tail: ort.InferenceSession, split: DecoderTailSplit, cut: ort.Tensor, count: number, halo: number): Promise<Float32Array> {
  const length = cut.dims.at(-1)!;
  const rows = cut.data.length / length;
  const audio = new Float32Array(length * split.scale);
  for (let i = 0; i < count; i++) {
    const [start, end] = [Math.floor((i * length) / count), Math.floor(((i + 1) * length) / count)];
    const [from, to] = [Math.max(0, start - halo), Math.min(length, end + halo)];
    const input = new Float32Array(rows * (to - from));
    for (let r = 0; r < rows; r++) input.set((cut.data as Float32Array).subarray(r * length + from, r * length + to), r * (to - from));
    const out = (await tail.run({ [split.cut]: new ort.Tensor('float32', input, [...cut.dims.slice(0, -1), to - from]) }))[split.output]!;
    assert.equal(out.data.length, (to - from) * split.scale, 'one channel, scale samples per input sample');
    audio.set((out.data as Float32Array).subarray((start - from) * split.scale, (end - from) * split.scale), start * split.scale);
  }
  return audio;
}

async function voiceModels(): Promise<Array<[string, Uint8Array]>> {
  const file = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
  const all = { denseSplines: true, denseAttention: true, fuseLayerNorms: true, widenConvolutions: true };
  return [
    ['the file', file],
    ['rewritten as the engine does', rewriteModel(() => file, all).model],
  ];
}

describe('decoder tail split', () => {
  it('cuts before the second upsampler; head and tail, whole or in overlapping slices, make the same audio', async () => {
    for (const [what, model] of await voiceModels()) {
      const split = splitDecoderTail(model);
      assert.ok(split, what);
      const upsamplers = ModelProto.decode(model).graph!.node!.filter((n) => n.opType === 'ConvTranspose');
      assert.equal(split.cut, upsamplers[1]!.input![0], `${what}: the second upsampler's input`);
      assert.equal(split.scale, 32, `${what}: the last two upsamplers multiply the rate by 8 and 4`);
      assert.ok(split.halo >= 5 && split.halo <= 20, `${what}: halo ${split.halo}`);
      assert.ok(split.tail.length < model.length / 20, `${what}: the tail holds a small part of the weights`);
      const tailOps = opTypes(split.tail);
      const count = (op: string) => tailOps.filter((o) => o === op).length;
      // the second stage once (6 convolutions), the last in 4 chunks (its upsampler, 6 convolutions and the output one)
      assert.deepEqual([count('ConvTranspose'), count('Conv'), count('Concat')], [1 + 4, 6 + 4 * 7, 1], `${what}: the last stage in 4 chunks`);

      const [full, head, tail] = await Promise.all([session(model), session(split.head), session(split.tail)]);
      try {
        const feeds = deterministicVoiceFeeds();
        const expected = (await full.run(feeds))[split.output]!.data as Float32Array;
        const cut = (await head.run(feeds))[split.cut]!;
        assert.equal(cut.dims.at(-1)! * split.scale, expected.length, `${what}: time is the cut's last axis`);
        assert.equal(maxDiff(await tailInSlices(tail, split, cut, 1, 0), expected), 0, `${what}: head then tail`);
        for (const count of [2, 3]) {
          assert.ok(maxDiff(await tailInSlices(tail, split, cut, count, split.halo), expected) < 1e-6, `${what}: ${count} slices`);
        }
        assert.ok(maxDiff(await tailInSlices(tail, split, cut, 2, split.halo - 3), expected) > 1e-5, `${what}: a smaller overlap is not enough`);
      } finally {
        await Promise.all([full.release(), head.release(), tail.release()]);
      }
    }
  });

  it('leaves a model whole when its tail is read from outside or is not local in time, and what is not a model', async () => {
    const model = (await voiceModels())[0]![1];
    const decoded = () => ModelProto.decode(model);
    const lastConv = (m: onnxProto.onnx.ModelProto) => m.graph!.node!.filter((n) => n.opType === 'Conv').at(-1)!;
    // (compared as booleans: a failure would otherwise print a whole model)
    const whole = (m: Uint8Array) => splitDecoderTail(m) === undefined;
    assert.ok(whole(withOutputs(model, [lastConv(decoded()).output![0]!])), 'a value inside the tail is also a graph output');
    const longer = decoded();
    const pads = lastConv(longer).attribute!.find((a) => a.name === 'pads')!;
    pads.ints = [Number(pads.ints![0]), Number(pads.ints![1]) + 1];
    assert.ok(whole(ModelProto.encode(longer).finish()), 'the output convolution padded to one sample more than it reads');
    const mixed = decoded();
    const conv = lastConv(mixed);
    const reduced = `${conv.output![0]}_mean`;
    for (const n of mixed.graph!.node!) n.input = n.input!.map((x) => (x === conv.output![0] ? reduced : x));
    const mean = { opType: 'ReduceMean', input: [conv.output![0]!], output: [reduced], attribute: [{ name: 'axes', ints: [-1], type: 7 }] };
    mixed.graph!.node!.splice(mixed.graph!.node!.indexOf(conv) + 1, 0, mean);
    assert.ok(whole(ModelProto.encode(mixed).finish()), 'a mean over time before the output');
    assert.ok(whole(new TextEncoder().encode('not a model')));
  });
});
