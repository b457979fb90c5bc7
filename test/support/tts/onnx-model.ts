/** Running ONNX models in tests of the model rewrites (conv2d, layer-norm, spline, relative attention): outputs compared value by value. */
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

/** The model's first output for `feeds`, on one thread. */
export async function runModel(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

export function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'same output length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

export function opTypes(model: Uint8Array): string[] {
  return onnxProto.onnx.ModelProto.decode(model).graph!.node!.map((n) => n.opType!);
}

/** A short sentence's ids for a Piper voice, with the noise off so that the model's output is deterministic. */
export function deterministicVoiceFeeds(): Record<string, ort.Tensor> {
  const ids = [1, 0, 41, 0, 120, 0, 14, 0, 3, 0, 59, 0, 25, 0, 100, 0, 17, 0, 10, 0, 2];
  return {
    input: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length)), [1]),
    scales: new ort.Tensor('float32', Float32Array.of(0, 1, 0), [3]),
  };
}

/**
 * `model` with `extra` values as graph outputs; with `seed`, its random nodes seeded alike, so that two models draw
 * the same noise.
 */
export function withOutputs(model: Uint8Array, extra: readonly string[], seed = false): Uint8Array {
  const { ModelProto, AttributeProto, TensorProto } = onnxProto.onnx;
  const m = ModelProto.decode(model);
  for (const n of seed ? m.graph!.node! : []) {
    if (!n.opType!.startsWith('Random')) continue;
    n.attribute = [...n.attribute!.filter((a) => a.name !== 'seed'), { name: 'seed', f: 42, type: AttributeProto.AttributeType.FLOAT }];
  }
  for (const name of extra) m.graph!.output!.push({ name, type: { tensorType: { elemType: TensorProto.DataType.FLOAT } } });
  return ModelProto.encode(m).finish();
}

/** The values a voice's Exp nodes read: the predicted log-durations among them. */
export function expInputs(model: Uint8Array): string[] {
  return onnxProto.onnx.ModelProto.decode(model)
    .graph!.node!.filter((n) => n.opType === 'Exp')
    .map((n) => n.input![0]!);
}

/** Every output of a Piper voice model for `ids`, on one thread; the noise off unless `noise`. */
export async function runVoiceOutputs(model: Uint8Array, ids: readonly number[], noise = false): Promise<Record<string, Float32Array>> {
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
