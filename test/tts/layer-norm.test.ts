/**
 * src/tts/layer-norm.ts: spelled-out layer normalizations become LayerNormalization nodes with the same output (small
 * models built here, run by onnxruntime; the real test voice with its noise off), and near misses are left alone.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { fuseLayerNorms } from '../../src/tts/layer-norm.js';
import { deterministicVoiceFeeds, maxDiff, opTypes, runModel } from '../support/tts/onnx-model.js';
import { requireTestVoice, TEST_VOICE } from '../support/voices.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INTS = onnx.AttributeProto.AttributeType.INTS;
const TENSOR = onnx.AttributeProto.AttributeType.TENSOR;
const CHANNELS = 6;

const floats = (name: string, dims: number[], values: number[]) => ({ name, dataType: FLOAT, dims, floatData: values });
const constant = (output: string, value: number, raw: boolean) => ({
  opType: 'Constant',
  input: [],
  output: [output],
  attribute: [
    {
      name: 'value',
      type: TENSOR,
      // both encodings a constant can have: raw little-endian bytes, or the typed field
      t: raw ? { dataType: FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) } : { dataType: FLOAT, dims: [], floatData: [value] },
    },
  ],
});

interface Variant {
  /** ReduceMean axes (the last axis: -1). */
  axes?: readonly number[];
  exponent?: number;
  /** Another node also reads the centered value. */
  centeredReadTwice?: boolean;
  gammaDims?: readonly number[];
}

/** x [1, L, 6] -> Relu -> layer normalization over the last axis, spelled out as the VITS export does -> Relu -> y. */
function buildModel(variant: Variant = {}): Uint8Array {
  const gammaDims = [...(variant.gammaDims ?? [CHANNELS])];
  const gammaSize = gammaDims.reduce((a, b) => a * b, 1);
  const nodes = [
    { opType: 'Relu', input: ['x'], output: ['h'] },
    { opType: 'ReduceMean', input: ['h'], output: ['mean'], attribute: [{ name: 'axes', type: INTS, ints: [...(variant.axes ?? [-1])] }] },
    { opType: 'Sub', input: ['h', 'mean'], output: ['centered'] },
    constant('two', variant.exponent ?? 2, true),
    { opType: 'Pow', input: ['centered', 'two'], output: ['squared'] },
    { opType: 'ReduceMean', input: ['squared'], output: ['variance'], attribute: [{ name: 'axes', type: INTS, ints: [...(variant.axes ?? [-1])] }] },
    constant('eps', 1e-5, false),
    { opType: 'Add', input: ['variance', 'eps'], output: ['variance_eps'] },
    { opType: 'Sqrt', input: ['variance_eps'], output: ['std'] },
    { opType: 'Div', input: ['centered', 'std'], output: ['normalized'] },
    { opType: 'Mul', input: ['normalized', 'gamma'], output: ['scaled'] },
    { opType: 'Add', input: ['scaled', 'beta'], output: ['shifted'] },
    { opType: 'Relu', input: ['shifted'], output: [variant.centeredReadTwice ? 'y0' : 'y'] },
    ...(variant.centeredReadTwice ? [{ opType: 'Add', input: ['y0', 'centered'], output: ['y'] }] : []),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 15 }],
    graph: {
      name: 'layer-norm',
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 1 }, { dimParam: 'L' }, { dimValue: CHANNELS }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT } } }],
      initializer: [
        floats(
          'gamma',
          gammaDims,
          Array.from({ length: gammaSize }, (_, i) => 0.5 + i * 0.1),
        ),
        floats(
          'beta',
          [CHANNELS],
          Array.from({ length: CHANNELS }, (_, i) => i * 0.05 - 0.1),
        ),
      ],
      node: nodes,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('fuseLayerNorms', () => {
  it('replaces the nine nodes of a layer normalization with one LayerNormalization, with the same output', async () => {
    const original = buildModel();
    const fused = fuseLayerNorms(original);
    assert.ok(fused, 'the model was rewritten');
    assert.deepEqual(
      opTypes(fused).filter((t) => t !== 'Constant'),
      ['Relu', 'LayerNormalization', 'Relu'],
    );
    const node = onnx.ModelProto.decode(fused).graph!.node!.find((n) => n.opType === 'LayerNormalization')!;
    assert.deepEqual(node.input, ['h', 'gamma', 'beta']);
    assert.equal(node.attribute!.find((a) => a.name === 'epsilon')!.f, Math.fround(1e-5));
    for (const length of [1, 9, 40]) {
      const x = new ort.Tensor(
        'float32',
        Float32Array.from({ length: CHANNELS * length }, (_, i) => Math.sin(i * 0.7) * 3 + (i % 5)),
        [1, length, CHANNELS],
      );
      const [a, b] = [await runModel(original, { x }), await runModel(fused, { x })];
      assert.ok(maxDiff(a, b) < 1e-5, `outputs differ by ${maxDiff(a, b)}`);
    }
  });

  for (const [why, variant] of [
    ['normalizes over another axis than the last', { axes: [1] }],
    ['squares with another exponent', { exponent: 3 }],
    ['lets another node read the centered values', { centeredReadTwice: true }],
    ['scales by something other than one value per channel', { gammaDims: [1, CHANNELS] }],
  ] as const) {
    it(`leaves the model alone when it ${why}`, () => {
      assert.equal(fuseLayerNorms(buildModel(variant)), undefined);
    });
  }

  it('returns undefined for bytes that are not a model', () => {
    assert.equal(fuseLayerNorms(new TextEncoder().encode('this is not an ONNX model')), undefined);
    assert.equal(fuseLayerNorms(new Uint8Array(0)), undefined);
  });

  it("fuses the real voice's 36 layer normalizations and gives the same audio (noise off, so the model is deterministic)", async () => {
    const model = new Uint8Array(await readFile(join(requireTestVoice(), `${TEST_VOICE}.onnx`)));
    const fused = fuseLayerNorms(model);
    assert.ok(fused, 'the voice was rewritten');
    const [before, after] = [opTypes(model), opTypes(fused)];
    const norms = after.filter((t) => t === 'LayerNormalization').length;
    assert.equal(norms, 36);
    assert.equal(before.length - after.length, norms * 8, 'nine nodes became one, for each');
    const [a, b] = [await runModel(model, deterministicVoiceFeeds()), await runModel(fused, deterministicVoiceFeeds())];
    assert.ok(a.length > 1000);
    // two steps of the 16-bit output at this sentence's peak
    let peak = 0;
    for (const v of a) peak = Math.max(peak, Math.abs(v));
    assert.ok(maxDiff(a, b) < (2 * peak) / 32767, `outputs differ by ${maxDiff(a, b)} (peak ${peak})`);
  });
});
