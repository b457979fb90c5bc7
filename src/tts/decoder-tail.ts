/**
 * Most of a Piper inference is the decoder's last stages (HiFi-GAN's upsamplers and residual blocks at 8 to 256 times
 * the frame rate), and onnxruntime's kernels gain only about 1.7x there from a second thread. Those stages are local in
 * time: each output sample depends on a bounded window of their input. So the engine runs them as overlapping time
 * slices, one per thread, each on a 1-thread session (inference-worker.ts): a slice also computes `halo` input samples
 * on each side, whose output is cut off again, so the audio is what the whole model makes.
 *
 * splitDecoderTail() cuts a model in two at the input of its second upsampler (ConvTranspose): the head (everything
 * before, ending in that value) and the tail (everything from it to the model's output). Measured on a medium voice on 2
 * cores: cut there, 3-5 % faster overall; the whole decoder in slices needs a halo of 12 frames (10 % of a 235-frame
 * sentence computed twice) and was 1-2 % slower; cut before the third, only the last stage runs in slices (about 2 %).
 *
 * Inside the tail, the last stage (from the last upsampler on) is computed in CHUNKS overlapping time chunks, one after
 * the other, in the same way: on a 1-thread session onnxruntime expands a whole convolution's input (im2col) at once,
 * 28 MB for the last stage's 7-wide kernels on half a sentence, and chunks of it stay in cache (measured: the tail in
 * 0.94-0.95 of its time with two slices at once; 2 or 8 chunks 0.95; the stage before chunked too, no gain).
 *
 * The tail is accepted only when every node in it is time-local and keeps time as the last axis: convolutions that
 * keep the length (stride 1, "same" padding) or multiply it (ConvTranspose whose output is exactly stride times its
 * input), elementwise ops whose other operands are constants without a time extent, and Unsqueeze/Squeeze that leave the
 * last axis alone. The halo is the tail's receptive field, computed from the kernels, dilations, pads and strides.
 * Anything else leaves the model whole (undefined).
 */

import {
  ATTR_INTS,
  ATTR_S,
  constantInts,
  constantTensor,
  editModel,
  type Field,
  fields,
  floatValueInfo,
  GraphAdditions,
  GRAPH_INITIALIZER,
  GRAPH_INPUT,
  GRAPH_NAME,
  GRAPH_NODE,
  GRAPH_OUTPUT,
  GRAPH_VALUE_INFO,
  int64s,
  payload,
  renamedNode,
  strings,
  TENSOR_DIMS,
  text,
  VALUE_INFO_NAME,
  type WireModel,
  type WireNode,
  Writer,
} from './onnx-wire.js';

export interface DecoderTailSplit {
  /** The model up to `cut`, which is its only output. */
  head: Uint8Array;
  /** The model from `cut` (its only input) to `output`. */
  tail: Uint8Array;
  /** The value where the model is cut: time is its last axis. */
  cut: string;
  /** The model's output, which the tail makes. */
  output: string;
  /** Output samples per sample of `cut`, along the last axis of each. */
  scale: number;
  /** Samples of `cut` a slice needs on each side of its own for its own output to be exact. */
  halo: number;
}

/** The tail starts at this upsampler (0-based, in graph order). */
const TAIL_UPSAMPLER = 1;
/** Time chunks of the tail's last stage. */
const CHUNKS = 4;

const UNARY = new Set(['LeakyRelu', 'Relu', 'Tanh', 'Sigmoid', 'Identity']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);

/** What is known of a value in the tail: its rank, its samples per `cut` sample, and how far it reads `cut` each way. */
interface Span {
  rank: number;
  scale: number;
  left: number;
  right: number;
}

/** `model` cut before its decoder's second upsampler, or undefined when it has none this can cut safely. */
export function splitDecoderTail(model: Uint8Array): DecoderTailSplit | undefined {
  return editModel(model, split);
}

function split(m: WireModel): DecoderTailSplit | undefined {
  if (m.graphOutputs.size !== 1) return undefined;
  const [output] = m.graphOutputs as Set<string>;
  const upsampler = m.nodes.filter((n) => n.opType === 'ConvTranspose' && n.domain === '')[TAIL_UPSAMPLER];
  const cut = upsampler?.inputs[0];
  const weight = constantTensor(m, upsampler?.inputs[1]);
  if (!cut || !weight || m.initializers.has(cut) || !m.producers.has(cut)) return undefined;

  const tail = downstream(m, cut);
  const start: Span = { rank: int64s(weight.bytes, weight.fs, TENSOR_DIMS).length, scale: 1, left: 0, right: 0 };
  const spans = new Map([[cut, start]]);
  const constants = new Set<WireNode>();
  for (const node of tail) {
    const span = nodeSpan(m, node, spans, constants);
    if (!span) return undefined;
    spans.set(node.outputs[0]!, span);
  }
  const end = spans.get(output!);
  if (!end || !Number.isInteger(end.scale)) return undefined;
  return {
    head: head(m, tail, cut, start.rank),
    tail: tailModel(m, tail, constants, cut, spans, output!),
    cut,
    output: output!,
    scale: end.scale,
    halo: haloOf(start, end),
  };
}

/**
 * Samples of `from` a piece of it needs on each side for `to` to be exact there: how much farther `to` reads `cut`,
 * in samples of `from`, plus one (the upsamplers' blocks of `stride` outputs are reckoned by their own input sample).
 */
function haloOf(from: Span, to: Span): number {
  return Math.ceil(Math.max(to.left - from.left, to.right - from.right) * from.scale) + 1;
}

/** Every node that reads `value`, directly or through others, in graph order. */
function downstream(m: WireModel, value: string): WireNode[] {
  const found = new Set<WireNode>();
  const pending = [value];
  for (let v = pending.pop(); v !== undefined; v = pending.pop()) {
    for (const n of m.consumers.get(v) ?? []) {
      if (found.has(n)) continue;
      found.add(n);
      pending.push(...n.outputs);
    }
  }
  return m.nodes.filter((n) => found.has(n));
}

const attributeInts = (n: WireNode, name: string) => {
  const a = n.attribute(name);
  return a && int64s(a.bytes, a.fs, ATTR_INTS).map(Number);
};

/** The span of `node`'s output, or undefined when the node is not one the tail may hold. */
function nodeSpan(m: WireModel, node: WireNode, spans: Map<string, Span>, constants: Set<WireNode>): Span | undefined {
  if (node.domain !== '' || node.outputs.length !== 1) return undefined;
  const data: Span[] = [];
  for (const input of node.inputs) {
    if (input === '') continue;
    const span = spans.get(input);
    if (span) data.push(span);
    else if (!m.initializers.has(input)) {
      const producer = m.producers.get(input);
      if (producer?.opType !== 'Constant' || producer.domain !== '') return undefined;
      constants.add(producer);
    }
  }
  const first = data[0];
  if (!first || !spans.has(node.inputs[0]!)) return undefined;
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose') return data.length === 1 ? convolutionSpan(m, node, first) : undefined;
  if (node.opType === 'Unsqueeze' || node.opType === 'Squeeze') return data.length === 1 ? axesSpan(m, node, first) : undefined;
  if (UNARY.has(node.opType)) return node.inputs.length === 1 ? first : undefined;
  if (!BINARY.has(node.opType) || node.inputs.length !== 2) return undefined;
  if (data.some((s) => s.rank !== first.rank || s.scale !== first.scale)) return undefined;
  if (data.length === 1) {
    // the other operand is a constant: it may not vary along time nor add axes
    const constant = constantTensor(
      m,
      node.inputs.find((x) => !spans.has(x)),
    );
    const dims = constant && int64s(constant.bytes, constant.fs, TENSOR_DIMS);
    if (!dims || dims.length > first.rank || (dims.length > 0 && dims.at(-1) !== 1n)) return undefined;
  }
  return { ...first, left: Math.max(...data.map((s) => s.left)), right: Math.max(...data.map((s) => s.right)) };
}

function convolutionSpan(m: WireModel, node: WireNode, input: Span): Span | undefined {
  const weight = constantTensor(m, node.inputs[1]);
  const dims = weight && int64s(weight.bytes, weight.fs, TENSOR_DIMS).map(Number);
  if (!dims || dims.length !== input.rank || input.rank < 3) return undefined;
  const autoPad = node.attribute('auto_pad');
  const autoPadValue = autoPad?.fs.find((f) => f.field === ATTR_S);
  if (autoPad && (!autoPadValue || text(autoPad.bytes, autoPadValue) !== 'NOTSET')) return undefined;
  const spatial = input.rank - 2;
  const strides = attributeInts(node, 'strides') ?? Array(spatial).fill(1);
  const dilations = attributeInts(node, 'dilations') ?? Array(spatial).fill(1);
  const pads = attributeInts(node, 'pads') ?? Array(2 * spatial).fill(0);
  if (strides.length !== spatial || dilations.length !== spatial || pads.length !== 2 * spatial) return undefined;
  const kernel = dims.at(-1)!;
  const stride = strides.at(-1)!;
  const dilation = dilations.at(-1)!;
  const [before, after] = [pads[spatial - 1]!, pads.at(-1)!];
  if (node.opType === 'Conv') {
    // the same length out as in: output t reads inputs t - before .. t - before + dilation * (kernel - 1)
    if (strides.some((s) => s !== 1) || before + after !== dilation * (kernel - 1)) return undefined;
    return { ...input, left: input.left + before / input.scale, right: input.right + (dilation * (kernel - 1) - before) / input.scale };
  }
  // ConvTranspose: exactly `stride` outputs per input; output u*stride+v reads inputs u - (kernel-1-before)/stride .. u + (stride-1+before)/stride
  const outputPadding = attributeInts(node, 'output_padding') ?? Array(spatial).fill(0);
  if (node.attribute('output_shape') || dilations.some((d) => d !== 1) || outputPadding.length !== spatial) return undefined;
  if (stride < 1 || kernel - before - after + outputPadding.at(-1)! !== stride) return undefined;
  return {
    rank: input.rank,
    scale: input.scale * stride,
    left: input.left + Math.floor((kernel - 1 - before) / stride) / input.scale,
    right: input.right + Math.floor((stride - 1 + before) / stride) / input.scale,
  };
}

/** Unsqueeze/Squeeze: the rank changes, time must stay the last axis. */
function axesSpan(m: WireModel, node: WireNode, input: Span): Span | undefined {
  const axes = (m.opset >= 13n ? constantInts(m, node.inputs[1])?.map(Number) : attributeInts(node, 'axes')) ?? [];
  if (axes.length === 0) return undefined;
  const rank = node.opType === 'Unsqueeze' ? input.rank + axes.length : input.rank - axes.length;
  const of = node.opType === 'Unsqueeze' ? rank : input.rank;
  if (axes.some((a) => (a < 0 ? a + of : a) === of - 1)) return undefined;
  return { ...input, rank };
}

/** The model without `tail`, ending in `cut`; initializers only the tail read are left out (unless listed as inputs). */
function head(m: WireModel, tail: WireNode[], cut: string, rank: number): Uint8Array {
  const inTail = new Set(tail);
  const removed = new Set(tail.map((n) => n.field));
  const inputs = new Set(m.entries.filter((f) => f.field === GRAPH_INPUT).map((f) => valueInfoName(m, f)));
  for (const [value, t] of m.initializers) {
    if (!inputs.has(value) && (m.consumers.get(value) ?? []).every((n) => inTail.has(n))) removed.add(t.field);
  }
  const made = new Set(tail.flatMap((n) => n.outputs));
  const out = new Writer();
  for (const f of m.entries) {
    if (removed.has(f) || f.field === GRAPH_OUTPUT) continue;
    if (f.field === GRAPH_VALUE_INFO && made.has(valueInfoName(m, f))) continue;
    out.raw(m.graph.subarray(f.start, f.end));
  }
  out.bytesField(GRAPH_OUTPUT, floatValueInfo(cut, rank));
  return m.withGraph(out);
}

/**
 * `tail`'s nodes (after the Constant nodes they read) as a model from `cut` to `output`, the last stage (from the last
 * upsampler's input) in chunks.
 */
function tailModel(m: WireModel, tail: WireNode[], constants: Set<WireNode>, cut: string, spans: Map<string, Span>, output: string): Uint8Array {
  const stageInput = tail.filter((n) => n.opType === 'ConvTranspose').at(-1)!.inputs[0]!;
  const stage = new Set(downstream(m, stageInput));
  const out = new Writer();
  for (const f of m.entries) {
    if (f.field === GRAPH_NAME || (f.field === GRAPH_OUTPUT && valueInfoName(m, f) === output)) out.raw(m.graph.subarray(f.start, f.end));
  }
  for (const n of [...m.nodes.filter((n) => constants.has(n)), ...tail.filter((n) => !stage.has(n))]) out.bytesField(GRAPH_NODE, n.bytes);
  const chunks = inChunks(m, [...stage], stageInput, spans.get(stageInput)!, output, spans.get(output)!);
  for (const n of chunks.nodes) out.bytesField(GRAPH_NODE, n);
  for (const t of chunks.initializers) out.bytesField(GRAPH_INITIALIZER, t);
  const read = new Set(tail.flatMap((n) => n.inputs));
  for (const [value, t] of m.initializers) if (read.has(value)) out.raw(m.graph.subarray(t.field.start, t.field.end));
  out.bytesField(GRAPH_INPUT, floatValueInfo(cut, spans.get(cut)!.rank));
  return m.withGraph(out);
}

/**
 * `nodes` (everything from `input` to `output`) computed on CHUNKS overlapping pieces of `input` along time, one after
 * the other, each keeping its own part of `output`, joined into `output`.
 */
function inChunks(m: WireModel, nodes: WireNode[], input: string, from: Span, output: string, to: Span): GraphAdditions {
  const g = new GraphAdditions(m, 'vo_tail_chunks');
  const int = (suffix: string, value: number) => g.constant(suffix, [BigInt(value)]);
  const [inAxis, outAxis] = [int('input_axis', from.rank - 1), int('output_axis', to.rank - 1)];
  const [halo, scale] = [int('halo', haloOf(from, to)), int('scale', to.scale / from.scale)];
  const length = g.node('Gather', [g.node('Shape', [input], 'shape'), inAxis], 'length', { axis: 0n });
  const size = g.node('Div', [g.node('Add', [length, int('round_up', CHUNKS - 1)], 'length_up'), int('chunks', CHUNKS)], 'size');
  const index = Array.from({ length: CHUNKS + 1 }, (_, i) => int(`index${i}`, i));
  const parts: string[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    const start = g.node('Mul', [size, index[i]!], `start${i}`);
    const end = g.node('Min', [g.node('Mul', [size, index[i + 1]!], `next${i}`), length], `end${i}`);
    const first = g.node('Max', [g.node('Sub', [start, halo], `start${i}_halo`), index[0]!], `first${i}`);
    const last = g.node('Min', [g.node('Add', [end, halo], `end${i}_halo`), length], `last${i}`);
    const rename = new Map([[input, g.node('Slice', [input, first, last, inAxis], `input${i}`)]]);
    for (const n of nodes) {
      for (const v of n.outputs) rename.set(v, m.fresh(`${v}/chunk${i}`));
      g.nodes.push(renamedNode(n, rename, g.name(`chunk${i}/${n.opType}`)));
    }
    const keepFrom = g.node('Mul', [g.node('Sub', [start, first], `offset${i}`), scale], `keep_from${i}`);
    const keepTo = g.node('Add', [keepFrom, g.node('Mul', [g.node('Sub', [end, start], `own${i}`), scale], `keep_length${i}`)], `keep_to${i}`);
    parts.push(g.node('Slice', [rename.get(output)!, keepFrom, keepTo, outAxis], `output${i}`));
  }
  g.node('Concat', parts, 'output', { axis: BigInt(to.rank - 1) }, output);
  return g;
}

function valueInfoName(m: WireModel, f: Field): string {
  const bytes = payload(m.graph, f);
  return strings(bytes, fields(bytes), VALUE_INFO_NAME)[0] ?? '';
}
