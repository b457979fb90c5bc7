/**
 * Piper's voices (VITS, exported at opset 15) spell each layer normalization out in nine nodes: ReduceMean, Sub, Pow 2,
 * ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta. onnxruntime leaves them as they are, and a voice has 36 of them
 * (the text encoder and the duration predictor), on short tensors where the cost is per node, not per value.
 * fuseLayerNorms() replaces each with one LayerNormalization node over the last axis (onnxruntime runs it at every
 * opset: its own schema below opset 17): 288 fewer nodes in a run of about 2,700, and an inference 1-4 % faster
 * (A/B runs here). The audio differs by at most a step or two of the 16-bit output (the variance is summed in
 * another order).
 *
 * It edits the serialized model directly (onnx-wire.ts); a model without this exact pattern is left alone (undefined).
 */
import { ATTR_I, ATTR_INTS, constantFloat, editModel, GraphAdditions, int64s, matchNodes, spliceGraph, type WireModel, type WireNode } from './onnx-wire.js';

interface LayerNorm {
  /** The nine nodes, first to last. */
  nodes: WireNode[];
  input: string;
  gamma: string;
  beta: string;
  epsilon: number;
  output: string;
}

/** `model` with its spelled-out layer normalizations fused, or undefined when it has none (or is not a model). */
export function fuseLayerNorms(model: Uint8Array): Uint8Array | undefined {
  return editModel(model, (m) => {
    const norms = matchNodes(m, 'ReduceMean', matchLayerNorm);
    if (norms.length === 0) return undefined;
    const removed = new Set(norms.flatMap((ln) => ln.nodes.map((n) => n.field)));
    // each fused node takes the place of its chain's last node
    const fused = new Map(
      norms.map((ln) => {
        const add = new GraphAdditions(m, m.fresh(`${ln.output}_vo_layernorm`));
        add.node('LayerNormalization', [ln.input, ln.gamma, ln.beta], 'fused', { axis: -1n, epsilon: ln.epsilon }, ln.output);
        return [ln.nodes.at(-1)!.field, add] as const;
      }),
    );
    return spliceGraph(m, removed, fused);
  });
}

/** The layer normalization starting at `mean` (the first ReduceMean), when every step is exactly the expected one. */
function matchLayerNorm(m: WireModel, mean: WireNode): LayerNorm | undefined {
  /** The one node reading `value`, when it is of type `op` and nothing else (no graph output either) reads the value. */
  const soleReader = (value: string | undefined, op: string): WireNode | undefined => {
    if (value === undefined || m.graphOutputs.has(value)) return undefined;
    const readers = m.consumers.get(value);
    return readers?.length === 1 && readers[0]!.opType === op && readers[0]!.domain === '' ? readers[0] : undefined;
  };
  /** The input of `node` other than `value`, when `node` has exactly `value` and one other input. */
  const other = (node: WireNode, value: string) => {
    if (node.inputs.length !== 2) return undefined;
    if (node.inputs[0] === value) return node.inputs[1];
    return node.inputs[1] === value ? node.inputs[0] : undefined;
  };

  const input = mean.inputs[0];
  if (mean.domain !== '' || mean.inputs.length !== 1 || mean.outputs.length !== 1 || input === undefined || !lastAxisMean(mean)) return undefined;
  const sub = soleReader(mean.outputs[0], 'Sub');
  if (!sub || sub.inputs[0] !== input || sub.inputs[1] !== mean.outputs[0]) return undefined;
  const centered = sub.outputs[0]!;
  const readers = m.consumers.get(centered) ?? [];
  const pow = readers.find((n) => n.opType === 'Pow');
  const div = readers.find((n) => n.opType === 'Div');
  if (readers.length !== 2 || m.graphOutputs.has(centered) || !pow || !div || pow.inputs[0] !== centered || div.inputs[0] !== centered) return undefined;
  if (pow.domain !== '' || div.domain !== '' || constantFloat(m, pow.inputs[1]) !== 2) return undefined;
  const variance = soleReader(pow.outputs[0], 'ReduceMean');
  if (variance?.inputs.length !== 1 || !lastAxisMean(variance)) return undefined;
  const addEps = soleReader(variance.outputs[0], 'Add');
  const epsilon = addEps && constantFloat(m, other(addEps, variance.outputs[0]!));
  if (!addEps || epsilon === undefined || !(epsilon >= 0)) return undefined;
  const sqrt = soleReader(addEps.outputs[0], 'Sqrt');
  if (!sqrt || div.inputs[1] !== sqrt.outputs[0] || (m.consumers.get(sqrt.outputs[0]!)?.length ?? 0) !== 1) return undefined;
  const scale = soleReader(div.outputs[0], 'Mul');
  const gamma = scale && other(scale, div.outputs[0]!);
  const shift = scale && soleReader(scale.outputs[0], 'Add');
  const beta = shift && other(shift, scale.outputs[0]!);
  if (!scale || !shift || gamma === undefined || beta === undefined) return undefined;
  // scale and shift per channel of the last axis, as LayerNormalization takes them
  const channels = m.initializers.get(gamma)?.dims;
  const betaDims = m.initializers.get(beta)?.dims;
  if (channels?.length !== 1 || betaDims?.length !== 1 || channels[0] !== betaDims[0]) return undefined;
  if (shift.outputs.length !== 1) return undefined;
  return { nodes: [mean, sub, pow, variance, addEps, sqrt, div, scale, shift], input, gamma, beta, epsilon, output: shift.outputs[0]! };
}

/** A ReduceMean over the last axis only, keeping it (axes as the attribute, up to opset 17). */
function lastAxisMean(node: WireNode): boolean {
  const axes = node.attribute('axes');
  if (!axes) return false;
  const values = int64s(axes.bytes, axes.fs, ATTR_INTS);
  const keepdims = node.attribute('keepdims');
  const keep = keepdims ? keepdims.fs.find((f) => f.field === ATTR_I)?.value : 1n;
  return values.length === 1 && values[0] === -1n && keep === 1n;
}
