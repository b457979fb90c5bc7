/**
 * Piper's models are 1-D convolutions (Conv/ConvTranspose over [batch, channels, time]). onnxruntime's CPU provider
 * runs 2-D convolutions through its blocked NCHWc kernels but 1-D ones through a generic im2col path, which here
 * costs about a fifth more CPU for the same result. widenConv1d() rewrites each 1-D convolution whose weight is a
 * constant as the same convolution over [batch, channels, 1, time] (Unsqueeze, 2-D Conv with a 1-wide kernel,
 * Squeeze): the same arithmetic, so the same audio (the sums run in another order: differences are below 1e-4 of
 * full scale, under one step of the 16-bit output). Every ConvTranspose is rewritten (the 2-D ones took under a third
 * of the time of the 1-D ones); a Conv only when it has at least MIN_CONV_CHANNELS output channels.
 *
 * It edits the serialized model directly (protobuf wire format, onnx.proto field numbers): only the graph's node
 * and initializer entries it changes are decoded, every other byte is copied as it is. Anything it does not
 * recognise leaves the model alone (undefined), and the engine then loads the file unchanged.
 */

// onnx.proto field numbers
const MODEL_OPSET_IMPORT = 8;
const MODEL_GRAPH = 7;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_INTS = 8;
const ATTR_TYPE = 20;
const ATTR_TYPE_INTS = 7;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_INT64 = 7;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/**
 * Narrower Convs stay 1-D. Piper's decoder ends with 32-channel convolutions at the audio rate and a 1-channel output
 * convolution; as 2-D ones (blocked kernels working on 8 or 16 channels at a time, with layout conversions around each)
 * they made a whole inference about 7 % slower with 2 threads than the same voice with them left 1-D (measured here,
 * AVX2); from 64 channels on, the 2-D ones were faster. With a single thread all-2-D was a few % faster instead: this
 * is set for onnxruntime's default of a thread per core.
 */
export const MIN_CONV_CHANNELS = 64;

/** Ops whose attributes may hold subgraphs reading outer initializers: their presence leaves the model alone. */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

class Unsupported extends Error {}

interface Field {
  field: number;
  wire: number;
  /** The whole field, tag included. */
  start: number;
  end: number;
  /** Payload of a length-delimited field; the value of a varint. */
  payloadStart: number;
  value: bigint;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length || shift > 63n) throw new Unsupported('bad varint');
    const byte = buf[pos++]!;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, pos];
    shift += 7n;
  }
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) throw new Unsupported('field 0');
    let value = 0n;
    let payloadStart = pos;
    if (wire === WIRE_VARINT) [value, pos] = readVarint(buf, pos);
    else if (wire === WIRE_I64) pos += 8;
    else if (wire === WIRE_I32) pos += 4;
    else if (wire === WIRE_LEN) {
      const [size, afterSize] = readVarint(buf, pos);
      payloadStart = afterSize;
      pos = afterSize + Number(size);
      value = size;
    } else throw new Unsupported(`wire type ${wire}`);
    if (pos > buf.length) throw new Unsupported('truncated');
    out.push({ field, wire, start, end: pos, payloadStart, value });
  }
  return out;
}

const payload = (buf: Uint8Array, f: Field) => buf.subarray(f.payloadStart, f.end);
const utf8 = new TextDecoder();
const text = (buf: Uint8Array, f: Field) => utf8.decode(payload(buf, f));

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

/** A message under construction: a list of byte pieces (views into the source, or new bytes). */
class Writer {
  readonly parts: Uint8Array[] = [];
  length = 0;
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }
  varintField(field: number, value: bigint): this {
    return this.raw(Uint8Array.from([...varint(BigInt((field << 3) | WIRE_VARINT)), ...varint(value)]));
  }
  bytesField(field: number, content: Uint8Array | Writer): this {
    this.raw(Uint8Array.from([...varint(BigInt((field << 3) | WIRE_LEN)), ...varint(BigInt(content.length))]));
    if (content instanceof Writer) for (const p of content.parts) this.raw(p);
    else this.raw(content);
    return this;
  }
  stringField(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }
  packedInts(field: number, values: readonly bigint[]): this {
    return this.bytesField(field, Uint8Array.from(values.flatMap((v) => varint(v))));
  }
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** The int64 values of a repeated int64 field (packed or not) of a message. */
function int64s(buf: Uint8Array, fs: Field[], field: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fs) {
    if (f.field !== field) continue;
    if (f.wire === WIRE_VARINT) out.push(BigInt.asIntN(64, f.value));
    else if (f.wire === WIRE_LEN) {
      const p = payload(buf, f);
      for (let pos = 0; pos < p.length; ) {
        const [v, next] = readVarint(p, pos);
        out.push(BigInt.asIntN(64, v));
        pos = next;
      }
    } else throw new Unsupported('int64 field with a fixed-width wire type');
  }
  return out;
}

interface ParsedNode {
  field: Field;
  fs: Field[];
  opType: string;
  domain: string;
  inputs: string[];
}

/** 1-D attribute values widened to 2-D (the new leading spatial axis: size 1, stride 1, no padding). */
function widenedAttribute(name: string, values: bigint[]): bigint[] | undefined {
  switch (name) {
    case 'kernel_shape':
    case 'strides':
    case 'dilations':
      if (values.length !== 1) throw new Unsupported(`${name} is not 1-D`);
      return [1n, ...values];
    case 'output_padding':
      if (values.length !== 1) throw new Unsupported(`${name} is not 1-D`);
      return [0n, ...values];
    case 'pads':
      if (values.length !== 2) throw new Unsupported('pads is not 1-D');
      return [0n, values[0]!, 0n, values[1]!];
    case 'output_shape':
      throw new Unsupported('output_shape');
    default:
      return undefined;
  }
}

export interface WidenOptions {
  /** Fewest output channels a Conv needs to be rewritten (default MIN_CONV_CHANNELS; ConvTranspose: always). */
  minConvChannels?: number;
}

/**
 * `model` (a serialized ONNX ModelProto) with its 1-D convolutions run as 2-D ones, or undefined when it has none
 * this can rewrite safely (or is not a model this understands).
 */
export function widenConv1d(model: Uint8Array, options: WidenOptions = {}): Uint8Array | undefined {
  try {
    return rewrite(model, options.minConvChannels ?? MIN_CONV_CHANNELS);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

function rewrite(model: Uint8Array, minConvChannels: number): Uint8Array | undefined {
  const modelFields = fields(model);
  const graphFields = modelFields.filter((f) => f.field === MODEL_GRAPH && f.wire === WIRE_LEN);
  if (graphFields.length !== 1) return undefined;
  let opset = 0n;
  for (const f of modelFields) {
    if (f.field !== MODEL_OPSET_IMPORT || f.wire !== WIRE_LEN) continue;
    const p = payload(model, f);
    const fs = fields(p);
    const domain = fs.find((x) => x.field === OPSET_DOMAIN);
    if (domain && text(p, domain) !== '' && text(p, domain) !== 'ai.onnx') continue;
    opset = fs.find((x) => x.field === OPSET_VERSION)?.value ?? 0n;
  }
  if (opset < 1n) return undefined;

  const graph = payload(model, graphFields[0]!);
  const graphEntries = fields(graph);
  const nodes = new Map<Field, ParsedNode>();
  const uses = new Map<string, number>();
  for (const f of graphEntries) {
    if (f.field !== GRAPH_NODE || f.wire !== WIRE_LEN) continue;
    const p = payload(graph, f);
    const fs = fields(p);
    const str = (n: number) => fs.filter((x) => x.field === n && x.wire === WIRE_LEN).map((x) => text(p, x));
    const node: ParsedNode = { field: f, fs, opType: str(NODE_OP_TYPE)[0] ?? '', domain: str(NODE_DOMAIN)[0] ?? '', inputs: str(NODE_INPUT) };
    if (SUBGRAPH_OPS.has(node.opType)) return undefined;
    nodes.set(f, node);
    for (const input of node.inputs) uses.set(input, (uses.get(input) ?? 0) + 1);
  }
  const initializers = new Map<string, { field: Field; fs: Field[]; dims: bigint[] }>();
  for (const f of graphEntries) {
    if (f.field !== GRAPH_INITIALIZER || f.wire !== WIRE_LEN) continue;
    const p = payload(graph, f);
    const fs = fields(p);
    const nameField = fs.find((x) => x.field === TENSOR_NAME && x.wire === WIRE_LEN);
    if (nameField) initializers.set(text(p, nameField), { field: f, fs, dims: int64s(p, fs, TENSOR_DIMS) });
  }

  // 1-D convolutions whose weight is a 3-D constant used by nothing else ([out, in/group, k]; ConvTranspose [in, out/group, k])
  const convs = [...nodes.values()].filter((n) => {
    if ((n.opType !== 'Conv' && n.opType !== 'ConvTranspose') || (n.domain !== '' && n.domain !== 'ai.onnx')) return false;
    const weight = n.inputs[1];
    const dims = weight === undefined ? undefined : initializers.get(weight)?.dims;
    if (dims?.length !== 3 || uses.get(weight!) !== 1 || (n.inputs[0] ?? '') === '') return false;
    return n.opType === 'ConvTranspose' || dims[0]! >= BigInt(minConvChannels);
  });
  if (convs.length === 0) return undefined;

  const taken = new Set([...uses.keys(), ...initializers.keys()]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const axesName = fresh('vo_conv2d_axis');
  const useAxesInput = opset >= 13n; // Unsqueeze/Squeeze take axes as an input from opset 13, an attribute before
  const widenedWeights = new Set(convs.map((c) => c.inputs[1]!));
  const convByField = new Map(convs.map((c) => [c.field, c]));

  const axesNode = (op: string, input: string, output: string) => {
    const w = new Writer().stringField(NODE_INPUT, input);
    if (useAxesInput) w.stringField(NODE_INPUT, axesName);
    w.stringField(NODE_OUTPUT, output).stringField(NODE_OP_TYPE, op);
    if (!useAxesInput) {
      w.bytesField(NODE_ATTRIBUTE, new Writer().stringField(ATTR_NAME, 'axes').packedInts(ATTR_INTS, [2n]).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_INTS)));
    }
    return w;
  };

  const out = new Writer();
  for (const f of graphEntries) {
    const conv = convByField.get(f);
    if (conv) {
      const p = payload(graph, f);
      const input = conv.inputs[0]!;
      const outputs = conv.fs.filter((x) => x.field === NODE_OUTPUT && x.wire === WIRE_LEN).map((x) => text(p, x));
      if (outputs.length !== 1) throw new Unsupported('a convolution with several outputs');
      const wideIn = fresh(`${input}_vo2d`);
      const wideOut = fresh(`${outputs[0]}_vo2d`);
      const node = new Writer();
      let inputIndex = 0;
      for (const x of conv.fs) {
        if (x.field === NODE_INPUT && x.wire === WIRE_LEN) {
          node.stringField(NODE_INPUT, inputIndex++ === 0 ? wideIn : text(p, x));
        } else if (x.field === NODE_OUTPUT && x.wire === WIRE_LEN) {
          node.stringField(NODE_OUTPUT, wideOut);
        } else if (x.field === NODE_ATTRIBUTE && x.wire === WIRE_LEN) {
          const a = payload(p, x);
          const afs = fields(a);
          const nameField = afs.find((y) => y.field === ATTR_NAME && y.wire === WIRE_LEN);
          const widened = nameField && widenedAttribute(text(a, nameField), int64s(a, afs, ATTR_INTS));
          if (widened) {
            node.bytesField(
              NODE_ATTRIBUTE,
              new Writer().stringField(ATTR_NAME, text(a, nameField!)).packedInts(ATTR_INTS, widened).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_INTS)),
            );
          } else node.raw(p.subarray(x.start, x.end));
        } else node.raw(p.subarray(x.start, x.end));
      }
      out.bytesField(GRAPH_NODE, axesNode('Unsqueeze', input, wideIn));
      out.bytesField(GRAPH_NODE, node);
      out.bytesField(GRAPH_NODE, axesNode('Squeeze', wideOut, outputs[0]!));
      continue;
    }
    if (f.field === GRAPH_INITIALIZER && f.wire === WIRE_LEN) {
      const p = payload(graph, f);
      const nameField = fields(p).find((x) => x.field === TENSOR_NAME && x.wire === WIRE_LEN);
      const name = nameField && text(p, nameField);
      if (name !== undefined && widenedWeights.has(name)) {
        const { fs, dims } = initializers.get(name)!;
        const tensor = new Writer().packedInts(TENSOR_DIMS, [dims[0]!, dims[1]!, 1n, dims[2]!]);
        for (const x of fs) if (x.field !== TENSOR_DIMS) tensor.raw(p.subarray(x.start, x.end));
        out.bytesField(GRAPH_INITIALIZER, tensor);
        continue;
      }
    }
    out.raw(graph.subarray(f.start, f.end));
  }
  if (useAxesInput) {
    const two = new Uint8Array(8);
    new DataView(two.buffer).setBigInt64(0, 2n, true);
    out.bytesField(
      GRAPH_INITIALIZER,
      new Writer()
        .packedInts(TENSOR_DIMS, [1n])
        .varintField(TENSOR_DATA_TYPE, BigInt(TENSOR_INT64))
        .stringField(TENSOR_NAME, axesName)
        .bytesField(TENSOR_RAW_DATA, two),
    );
  }

  const result = new Writer();
  for (const f of modelFields) {
    if (f === graphFields[0]) result.bytesField(MODEL_GRAPH, out);
    else result.raw(model.subarray(f.start, f.end));
  }
  return result.toBytes();
}
