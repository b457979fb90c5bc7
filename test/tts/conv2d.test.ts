/**
 * src/tts/conv2d.ts: a model's 1-D convolutions run as 2-D ones give the same output (small models built here,
 * and the real test voice with its noise turned off so the output is deterministic). model-rewrites.test.ts covers
 * the inference thread loading voices that way.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { MIN_CONV_CHANNELS, widenConv1d } from '../../src/tts/conv2d.js';
import { deterministicVoiceFeeds, maxDiff, opTypes, runModel } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INTS = onnx.AttributeProto.AttributeType.INTS;
const INT = onnx.AttributeProto.AttributeType.INT;

function weights(name: string, dims: number[], seed: number) {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dataType: FLOAT, dims, floatData: Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.37) * 0.5) };
}

const ints = (name: string, values: number[]) => ({ name, type: INTS, ints: values });

/** x [1,4,L] -> Conv1d (dilated, padded, bias) -> LeakyRelu -> ConvTranspose1d (stride 2, grouped) -> Conv1d, whose weight `shareWeight` also multiplies. */
function buildModel(opset: number, shareWeight = false): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'conv1d',
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }, { dimParam: 'L' }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT } } }],
      initializer: [weights('w1', [6, 4, 5], 1), weights('b1', [6], 2), weights('w2', [6, 3, 4], 3), weights('w3', [2, 6, 3], 4)],
      node: [
        {
          opType: 'Conv',
          input: ['x', 'w1', 'b1'],
          output: ['c1'],
          name: 'c1',
          attribute: [ints('kernel_shape', [5]), ints('dilations', [2]), ints('pads', [4, 4])],
        },
        { opType: 'LeakyRelu', input: ['c1'], output: ['r1'], name: 'r1' },
        {
          opType: 'ConvTranspose',
          input: ['r1', 'w2'],
          output: ['t1'],
          name: 't1',
          attribute: [ints('strides', [2]), ints('pads', [1, 1]), ints('output_padding', [1]), { name: 'group', type: INT, i: 2 }],
        },
        { opType: 'Conv', input: ['t1', 'w3'], output: ['y0'], name: 'c2', attribute: [ints('pads', [1, 1])] },
        shareWeight ? { opType: 'Mul', input: ['y0', 'w3'], output: ['y'], name: 'm' } : { opType: 'Identity', input: ['y0'], output: ['y'], name: 'id' },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('widenConv1d', () => {
  for (const opset of [11, 15]) {
    it(`runs every 1-D convolution as a 2-D one with the same output (opset ${opset}: axes as ${opset >= 13 ? 'an input' : 'an attribute'})`, async () => {
      const original = buildModel(opset);
      const wide = widenConv1d(original, { minConvChannels: 1 });
      assert.ok(wide, 'the model was rewritten');
      assert.deepEqual(
        opTypes(wide).filter((t) => t !== 'LeakyRelu' && t !== 'Identity'),
        ['Unsqueeze', 'Conv', 'Squeeze', 'Unsqueeze', 'ConvTranspose', 'Squeeze', 'Unsqueeze', 'Conv', 'Squeeze'],
      );
      for (const length of [7, 50]) {
        const x = new ort.Tensor(
          'float32',
          Float32Array.from({ length: 4 * length }, (_, i) => Math.cos(i * 0.21)),
          [1, 4, length],
        );
        const [a, b] = [await runModel(original, { x }), await runModel(wide, { x })];
        assert.ok(a.length > 0);
        assert.ok(maxDiff(a, b) < 1e-5, `outputs differ by ${maxDiff(a, b)}`);
      }
    });
  }

  it(`by default rewrites a Conv only with at least ${MIN_CONV_CHANNELS} output channels, a ConvTranspose always`, async () => {
    const original = buildModel(15);
    const wide = widenConv1d(original);
    assert.ok(wide, 'the ConvTranspose was rewritten');
    assert.deepEqual(
      opTypes(wide).filter((t) => t !== 'LeakyRelu' && t !== 'Identity'),
      ['Conv', 'Unsqueeze', 'ConvTranspose', 'Squeeze', 'Conv'],
    );
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 4 * 30 }, (_, i) => Math.sin(i * 0.13)),
      [1, 4, 30],
    );
    const [a, b] = [await runModel(original, { x }), await runModel(wide, { x })];
    assert.ok(maxDiff(a, b) < 1e-5, `outputs differ by ${maxDiff(a, b)}`);
    const unsqueezes = (m: Uint8Array | undefined) => opTypes(m!).filter((t) => t === 'Unsqueeze').length;
    assert.equal(unsqueezes(widenConv1d(original, { minConvChannels: 7 })), 1, 'the 6-channel Conv is under 7');
    assert.equal(unsqueezes(widenConv1d(original, { minConvChannels: 6 })), 2, 'the 6-channel Conv is rewritten at 6, the 2-channel one not');
  });

  it('leaves a convolution alone when its weight is used by another node too', () => {
    const wide = widenConv1d(buildModel(15, true), { minConvChannels: 1 });
    assert.ok(wide);
    const types = opTypes(wide);
    assert.equal(types.filter((t) => t === 'Unsqueeze').length, 2, 'only the convolutions with their own weights are rewritten');
    assert.deepEqual(types.slice(-2), ['Conv', 'Mul'], 'the last convolution (its weight is also multiplied) is as it was');
  });

  it('returns undefined for bytes that are not a model and for a model without 1-D convolutions', () => {
    assert.equal(widenConv1d(new TextEncoder().encode('this is not an ONNX model')), undefined);
    assert.equal(widenConv1d(new Uint8Array(0)), undefined);
    const noConv = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 15 }],
        graph: { name: 'g', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [{ name: 'x' }], output: [{ name: 'y' }] },
      }),
    ).finish();
    assert.equal(widenConv1d(noConv), undefined);
  });

  it('gives the real voice the same audio (noise off, so the model is deterministic)', async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    const wide = widenConv1d(model);
    assert.ok(wide, 'the voice was rewritten');
    const graph = onnx.ModelProto.decode(wide).graph!;
    const rank = new Map(graph.initializer!.map((t) => [t.name!, t.dims!.length]));
    const convRanks = graph.node!.filter((n) => n.opType === 'Conv').map((n) => rank.get(n.input![1]!));
    assert.ok(convRanks.includes(4) && convRanks.includes(3), 'wide Convs as 2-D, the narrow ones (the 1-channel output) as they were');
    const [a, b] = [await runModel(model, deterministicVoiceFeeds()), await runModel(wide, deterministicVoiceFeeds())];
    assert.ok(a.length > 1000);
    assert.ok(maxDiff(a, b) < 1e-4, `outputs differ by ${maxDiff(a, b)}`);
  });
});
