/** Running ONNX models in tests of the model rewrites (conv2d, layer-norm, spline): outputs compared value by value. */
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
