/**
 * Just enough of the ONNX protobuf wire format (onnx.proto field numbers) to rewrite a voice's graph in place: the
 * model, its graph, nodes and initializers are split into fields, only what a rewrite changes is decoded, and every
 * other byte is copied as it is (a 60-100 MB model is not decoded into objects and encoded again).
 * A model this does not understand throws UnsupportedModel; the rewrites turn that into "leave the model alone".
 */

// onnx.proto field numbers
const MODEL_OPSET_IMPORT = 8;
const MODEL_GRAPH = 7;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
export const GRAPH_NODE = 1;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_NAME = 2;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
export const GRAPH_VALUE_INFO = 13;
export const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM_TYPE = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_PARAM = 2;
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
export const ATTR_NAME = 1;
const ATTR_F = 2;
export const ATTR_I = 3;
export const ATTR_S = 4;
const ATTR_T = 5;
export const ATTR_INTS = 8;
export const ATTR_TYPE = 20;
const ATTR_TYPE_FLOAT = 1;
const ATTR_TYPE_INT = 2;
const ATTR_TYPE_STRING = 3;
export const ATTR_TYPE_INTS = 7;
export const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_INT64_DATA = 7;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_DATA_LOCATION = 14;
const TENSOR_FLOAT = 1;
/** TensorProto data types, as Cast's `to`. */
export const CAST_TO_FLOAT = BigInt(TENSOR_FLOAT);
const TENSOR_INT64 = 7;
export const CAST_TO_INT64 = BigInt(TENSOR_INT64);

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Ops whose attributes may hold subgraphs reading outer values: their presence leaves the model alone. */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

export class UnsupportedModel extends Error {}

export interface Field {
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
    if (pos >= buf.length || shift > 63n) throw new UnsupportedModel('bad varint');
    const byte = buf[pos++]!;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, pos];
    shift += 7n;
  }
}

/** The top-level fields of one message. */
export function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) throw new UnsupportedModel('field 0');
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
    } else throw new UnsupportedModel(`wire type ${wire}`);
    if (pos > buf.length) throw new UnsupportedModel('truncated');
    out.push({ field, wire, start, end: pos, payloadStart, value });
  }
  return out;
}

export const payload = (buf: Uint8Array, f: Field) => buf.subarray(f.payloadStart, f.end);
const utf8 = new TextDecoder();
export const text = (buf: Uint8Array, f: Field) => utf8.decode(payload(buf, f));
/** The strings of a repeated string field. */
export const strings = (buf: Uint8Array, fs: Field[], field: number) => fs.filter((x) => x.field === field && x.wire === WIRE_LEN).map((x) => text(buf, x));

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
export class Writer {
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
  floatField(field: number, value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    return this.raw(Uint8Array.from([...varint(BigInt((field << 3) | WIRE_I32)), ...bytes]));
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
export function int64s(buf: Uint8Array, fs: Field[], field: number): bigint[] {
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
    } else throw new UnsupportedModel('int64 field with a fixed-width wire type');
  }
  return out;
}

export interface WireAttribute {
  /** The AttributeProto's bytes and fields. */
  bytes: Uint8Array;
  fs: Field[];
}

export interface WireNode {
  /** The node's entry in the graph. */
  field: Field;
  /** The NodeProto's bytes and fields. */
  bytes: Uint8Array;
  fs: Field[];
  opType: string;
  /** '' for the default ONNX domain ('ai.onnx' is read as '') */
  domain: string;
  inputs: string[];
  outputs: string[];
  attribute(name: string): WireAttribute | undefined;
}

export interface WireTensor {
  field: Field;
  bytes: Uint8Array;
  fs: Field[];
  dims: bigint[];
}

export interface WireModel {
  bytes: Uint8Array;
  /** The opset of the default domain. */
  opset: bigint;
  /** The GraphProto's bytes and its fields, in order. */
  graph: Uint8Array;
  entries: Field[];
  nodes: WireNode[];
  initializers: Map<string, WireTensor>;
  /** The nodes reading each value (a node reading it twice is listed twice). */
  consumers: Map<string, WireNode[]>;
  /** The node making each value. */
  producers: Map<string, WireNode>;
  graphOutputs: Set<string>;
  /** A value name no node, initializer or earlier fresh() call uses. */
  fresh(base: string): string;
  /** The model with its graph's fields replaced by `graph`. */
  withGraph(graph: Writer): Uint8Array;
}

function parseNode(graph: Uint8Array, f: Field): WireNode {
  const bytes = payload(graph, f);
  const fs = fields(bytes);
  const str = (n: number) => strings(bytes, fs, n);
  const domain = str(NODE_DOMAIN)[0] ?? '';
  return {
    field: f,
    bytes,
    fs,
    opType: str(NODE_OP_TYPE)[0] ?? '',
    domain: domain === 'ai.onnx' ? '' : domain,
    inputs: str(NODE_INPUT),
    outputs: str(NODE_OUTPUT),
    attribute(name) {
      for (const x of fs) {
        if (x.field !== NODE_ATTRIBUTE || x.wire !== WIRE_LEN) continue;
        const a = payload(bytes, x);
        const afs = fields(a);
        const nameField = afs.find((y) => y.field === ATTR_NAME && y.wire === WIRE_LEN);
        if (nameField && text(a, nameField) === name) return { bytes: a, fs: afs };
      }
      return undefined;
    },
  };
}

/** `model` split into what the rewrites read; undefined when it has no single graph or no default-domain opset. */
export function parseModel(model: Uint8Array): WireModel | undefined {
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

  const graphField = graphFields[0]!;
  const graph = payload(model, graphField);
  const entries = fields(graph);
  const nodes: WireNode[] = [];
  const consumers = new Map<string, WireNode[]>();
  const producers = new Map<string, WireNode>();
  const initializers = new Map<string, WireTensor>();
  const graphOutputs = new Set<string>();
  for (const f of entries) {
    if (f.wire !== WIRE_LEN) continue;
    if (f.field === GRAPH_NODE) {
      const node = parseNode(graph, f);
      if (SUBGRAPH_OPS.has(node.opType)) throw new UnsupportedModel(`a ${node.opType} node`);
      nodes.push(node);
      for (const output of node.outputs) producers.set(output, node);
      for (const input of node.inputs) {
        const list = consumers.get(input);
        if (list) list.push(node);
        else consumers.set(input, [node]);
      }
    } else if (f.field === GRAPH_INITIALIZER) {
      const bytes = payload(graph, f);
      const fs = fields(bytes);
      const name = strings(bytes, fs, TENSOR_NAME)[0];
      if (name !== undefined) initializers.set(name, { field: f, bytes, fs, dims: int64s(bytes, fs, TENSOR_DIMS) });
    } else if (f.field === GRAPH_OUTPUT) {
      const bytes = payload(graph, f);
      const name = strings(bytes, fields(bytes), VALUE_INFO_NAME)[0];
      if (name !== undefined) graphOutputs.add(name);
    }
  }
  const taken = new Set([...consumers.keys(), ...initializers.keys(), ...nodes.flatMap((n) => n.outputs)]);
  return {
    bytes: model,
    opset,
    graph,
    entries,
    nodes,
    initializers,
    consumers,
    producers,
    graphOutputs,
    fresh(base) {
      let name = base;
      for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
      taken.add(name);
      return name;
    },
    withGraph(newGraph) {
      const result = new Writer();
      for (const f of modelFields) {
        if (f === graphField) result.bytesField(MODEL_GRAPH, newGraph);
        else result.raw(model.subarray(f.start, f.end));
      }
      return result.toBytes();
    },
  };
}

/**
 * `edit` run on the parsed `model`: its result, or undefined when the bytes are not a model this reads or `edit` met
 * something it does not support (UnsupportedModel). How every rewrite leaves a model it does not understand alone.
 */
export function editModel<T = Uint8Array>(model: Uint8Array, edit: (m: WireModel) => T | undefined): T | undefined {
  try {
    const m = parseModel(model);
    return m ? edit(m) : undefined;
  } catch (err) {
    if (err instanceof UnsupportedModel) return undefined;
    throw err;
  }
}

/** The value of a one-element float tensor stored in the model (raw or typed data), or undefined. */
function scalarFloat(bytes: Uint8Array, fs: Field[]): number | undefined {
  const type = fs.find((x) => x.field === TENSOR_DATA_TYPE)?.value;
  if (type !== BigInt(TENSOR_FLOAT) || fs.some((x) => x.field === TENSOR_DATA_LOCATION && x.value !== 0n)) return undefined;
  if (int64s(bytes, fs, TENSOR_DIMS).some((d) => d !== 1n)) return undefined;
  const raw = fs.find((x) => x.field === TENSOR_RAW_DATA && x.wire === WIRE_LEN);
  let data: Uint8Array | undefined;
  if (raw) data = payload(bytes, raw);
  else {
    const typed = fs.filter((x) => x.field === TENSOR_FLOAT_DATA);
    if (typed.length === 1 && typed[0]!.wire === WIRE_LEN) data = payload(bytes, typed[0]!);
    else if (typed.length === 1 && typed[0]!.wire === WIRE_I32) data = bytes.subarray(typed[0]!.payloadStart, typed[0]!.end);
  }
  if (data?.length !== 4) return undefined;
  return new DataView(data.buffer, data.byteOffset, 4).getFloat32(0, true);
}

/** Attribute values of nodeProto(): a bigint is an INT, an array of bigints INTS, a number a FLOAT, a string a STRING. */
export type AttributeValue = bigint | bigint[] | number | string;

/** A NodeProto of the default domain. */
export function nodeProto(
  op: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attributes: Record<string, AttributeValue> = {},
): Writer {
  const w = new Writer();
  for (const x of inputs) w.stringField(NODE_INPUT, x);
  for (const x of outputs) w.stringField(NODE_OUTPUT, x);
  w.stringField(NODE_NAME, name).stringField(NODE_OP_TYPE, op);
  for (const [key, value] of Object.entries(attributes)) {
    const a = new Writer().stringField(ATTR_NAME, key);
    if (typeof value === 'bigint') a.varintField(ATTR_I, value).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_INT));
    else if (Array.isArray(value)) a.packedInts(ATTR_INTS, value).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_INTS));
    else if (typeof value === 'number') a.floatField(ATTR_F, value).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_FLOAT));
    else a.stringField(ATTR_S, value).varintField(ATTR_TYPE, BigInt(ATTR_TYPE_STRING));
    w.bytesField(NODE_ATTRIBUTE, a);
  }
  return w;
}

/** A TensorProto initializer with its values as raw little-endian data: float32 for numbers, int64 for bigints. */
export function tensorProto(name: string, dims: readonly bigint[], values: readonly number[] | readonly bigint[]): Writer {
  const isInt = typeof values[0] === 'bigint';
  const data = new Uint8Array(values.length * (isInt ? 8 : 4));
  const view = new DataView(data.buffer);
  for (const [i, v] of values.entries()) {
    if (typeof v === 'bigint') view.setBigInt64(i * 8, v, true);
    else view.setFloat32(i * 4, v, true);
  }
  return new Writer()
    .packedInts(TENSOR_DIMS, [...dims])
    .varintField(TENSOR_DATA_TYPE, BigInt(isInt ? TENSOR_INT64 : TENSOR_FLOAT))
    .stringField(TENSOR_NAME, name)
    .bytesField(TENSOR_RAW_DATA, data);
}

/** The TensorProto of a constant value: an initializer or a Constant node's `value`; undefined for anything else. */
export function constantTensor(m: WireModel, name: string | undefined): { bytes: Uint8Array; fs: Field[] } | undefined {
  if (name === undefined) return undefined;
  const initializer = m.initializers.get(name);
  if (initializer) return initializer;
  const producer = m.producers.get(name);
  if (producer?.opType !== 'Constant' || producer.domain !== '') return undefined;
  const value = producer.attribute('value');
  const tensor = value?.fs.find((f) => f.field === ATTR_T);
  if (!value || !tensor) return undefined;
  const bytes = payload(value.bytes, tensor);
  return { bytes, fs: fields(bytes) };
}

/** The value of a one-element float constant: an initializer or a Constant node's tensor. */
export function constantFloat(m: WireModel, name: string | undefined): number | undefined {
  const tensor = constantTensor(m, name);
  return tensor && scalarFloat(tensor.bytes, tensor.fs);
}

/** The values of an int64 constant stored in the model (raw or typed data), or undefined. */
export function constantInts(m: WireModel, name: string | undefined): bigint[] | undefined {
  const tensor = constantTensor(m, name);
  if (!tensor) return undefined;
  const { bytes, fs } = tensor;
  if (fs.find((x) => x.field === TENSOR_DATA_TYPE)?.value !== BigInt(TENSOR_INT64)) return undefined;
  if (fs.some((x) => x.field === TENSOR_DATA_LOCATION && x.value !== 0n)) return undefined;
  const raw = fs.find((x) => x.field === TENSOR_RAW_DATA && x.wire === WIRE_LEN);
  if (!raw) return int64s(bytes, fs, TENSOR_INT64_DATA);
  const data = payload(bytes, raw);
  if (data.length % 8 !== 0) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  return Array.from({ length: data.length / 8 }, (_, i) => view.getBigInt64(i * 8, true));
}

/** A ValueInfoProto: a float tensor of `rank` dimensions, each of unknown size (named `${name}_d${i}`). */
export function floatValueInfo(name: string, rank: number): Writer {
  const shape = new Writer();
  for (let i = 0; i < rank; i++) shape.bytesField(SHAPE_DIM, new Writer().stringField(DIM_PARAM, `${name}_d${i}`));
  const tensorType = new Writer().varintField(TENSOR_TYPE_ELEM_TYPE, BigInt(TENSOR_FLOAT)).bytesField(TENSOR_TYPE_SHAPE, shape);
  return new Writer().stringField(VALUE_INFO_NAME, name).bytesField(VALUE_INFO_TYPE, new Writer().bytesField(TYPE_TENSOR, tensorType));
}

/** A copy of `node` under `name`, its inputs and outputs renamed as `rename` says (the others as they are). */
export function renamedNode(node: WireNode, rename: ReadonlyMap<string, string>, name: string): Writer {
  const w = new Writer();
  for (const f of node.fs) {
    if (f.field === NODE_INPUT || f.field === NODE_OUTPUT) {
      const value = text(node.bytes, f);
      w.stringField(f.field, rename.get(value) ?? value);
    } else if (f.field !== NODE_NAME) w.raw(node.bytes.subarray(f.start, f.end));
  }
  return w.stringField(NODE_NAME, name);
}

/** The nodes and initializers a rewrite adds at one place in the graph, each named under `base` (fresh names). */
export class GraphAdditions {
  readonly nodes: Writer[] = [];
  readonly initializers: Writer[] = [];

  constructor(
    private readonly m: WireModel,
    private readonly base: string,
  ) {}

  name(suffix: string): string {
    return this.m.fresh(`${this.base}/${suffix}`);
  }

  /** A default-domain node making one value, `output` or a fresh name after `suffix`; returns the value. */
  node(op: string, inputs: readonly string[], suffix: string, attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const name = this.name(suffix);
    const value = output ?? name;
    this.nodes.push(nodeProto(op, inputs, [value], name, attributes));
    return value;
  }

  /** An initializer (float32 for numbers, int64 for bigints), one-dimensional unless `dims` says otherwise; its name. */
  constant(suffix: string, values: readonly number[] | readonly bigint[], dims: readonly bigint[] = [BigInt(values.length)]): string {
    const name = this.name(suffix);
    this.initializers.push(tensorProto(name, dims, values));
    return name;
  }
}

/** The model with the graph entries in `removed` left out, and each addition written right before its entry. */
export function spliceGraph(m: WireModel, removed: ReadonlySet<Field>, insertBefore: ReadonlyMap<Field, GraphAdditions>): Uint8Array {
  const out = new Writer();
  for (const f of m.entries) {
    const additions = insertBefore.get(f);
    if (additions) {
      for (const n of additions.nodes) out.bytesField(GRAPH_NODE, n);
      for (const t of additions.initializers) out.bytesField(GRAPH_INITIALIZER, t);
    }
    if (!removed.has(f)) out.raw(m.graph.subarray(f.start, f.end));
  }
  return m.withGraph(out);
}

/** What `match` finds at each node of type `op`, in graph order: a rewrite's candidates. */
export function matchNodes<T>(m: WireModel, op: string, match: (m: WireModel, node: WireNode) => T | undefined): T[] {
  return m.nodes.flatMap((n) => {
    const found = n.opType === op ? match(m, n) : undefined;
    return found === undefined ? [] : [found];
  });
}
