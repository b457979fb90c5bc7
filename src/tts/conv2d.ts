/**
 * Piper's models are 1-D convolutions (Conv/ConvTranspose over [batch, channels, time]). onnxruntime's CPU provider
 * runs 2-D convolutions through its blocked NCHWc kernels but 1-D ones through a generic im2col path, slower for the
 * wide ones. widenConv1d() rewrites each 1-D convolution whose weight is a
 * constant as the same convolution over [batch, channels, 1, time] (Unsqueeze, 2-D Conv with a 1-wide kernel,
 * Squeeze): the same arithmetic, so the same audio (the sums run in another order: differences are below 1e-4 of
 * full scale, under one step of the 16-bit output). Every ConvTranspose is rewritten (the 2-D ones took under a third
 * of the time of the 1-D ones); a Conv only when it has at least MIN_CONV_CHANNELS output channels.
 *
 * It edits the serialized model directly (onnx-wire.ts). Anything it does not recognise leaves the model alone
 * (undefined), and the engine then loads the model without this rewrite.
 */

import {
  ATTR_INTS,
  ATTR_NAME,
  ATTR_TYPE,
  ATTR_TYPE_INTS,
  editModel,
  fields,
  GRAPH_INITIALIZER,
  GRAPH_NODE,
  int64s,
  NODE_ATTRIBUTE,
  NODE_INPUT,
  NODE_OP_TYPE,
  NODE_OUTPUT,
  payload,
  TENSOR_DIMS,
  tensorProto,
  text,
  UnsupportedModel,
  type WireModel,
  Writer,
} from './onnx-wire.js';

/**
 * Narrower Convs stay 1-D. Timed per convolution in a whole Piper voice (onnxruntime 1.32, 2 threads, AVX-512): from
 * 128 channels on (the text encoder, the flows, the decoder's first stage) the 2-D ones were 15-45 % faster; the 64-
 * and 32-channel ones of the decoder's later stages, at 8 and 32 times the frame rate, were 10-50 % slower, and the
 * 1-channel output convolution 3 times slower. Of 64, 128, 192 and no Conv rewritten, 128 was fastest overall, with
 * onnxruntime 1.30 as well.
 */
export const MIN_CONV_CHANNELS = 128;

/** 1-D attribute values widened to 2-D (the new leading spatial axis: size 1, stride 1, no padding). */
function widenedAttribute(name: string, values: bigint[]): bigint[] | undefined {
  switch (name) {
    case 'kernel_shape':
    case 'strides':
    case 'dilations':
      if (values.length !== 1) throw new UnsupportedModel(`${name} is not 1-D`);
      return [1n, ...values];
    case 'output_padding':
      if (values.length !== 1) throw new UnsupportedModel(`${name} is not 1-D`);
      return [0n, ...values];
    case 'pads':
      if (values.length !== 2) throw new UnsupportedModel('pads is not 1-D');
      return [0n, values[0]!, 0n, values[1]!];
    case 'output_shape':
      throw new UnsupportedModel('output_shape');
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
  return editModel(model, (m) => rewrite(m, options.minConvChannels ?? MIN_CONV_CHANNELS));
}

function rewrite(m: WireModel, minConvChannels: number): Uint8Array | undefined {
  const { graph, initializers, consumers, opset } = m;

  // 1-D convolutions whose weight is a 3-D constant used by nothing else ([out, in/group, k]; ConvTranspose [in, out/group, k])
  const convs = m.nodes.filter((n) => {
    if ((n.opType !== 'Conv' && n.opType !== 'ConvTranspose') || n.domain !== '') return false;
    const weight = n.inputs[1];
    const dims = weight === undefined ? undefined : initializers.get(weight)?.dims;
    if (dims?.length !== 3 || consumers.get(weight!)?.length !== 1 || (n.inputs[0] ?? '') === '') return false;
    return n.opType === 'ConvTranspose' || dims[0]! >= BigInt(minConvChannels);
  });
  if (convs.length === 0) return undefined;

  const axesName = m.fresh('vo_conv2d_axis');
  const useAxesInput = opset >= 13n; // Unsqueeze/Squeeze take axes as an input from opset 13, an attribute before
  // the weights, by their entry in the graph
  const widenedWeights = new Map(convs.map((c) => initializers.get(c.inputs[1]!)!).map((t) => [t.field, t]));
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
  for (const f of m.entries) {
    const conv = convByField.get(f);
    if (conv) {
      const p = conv.bytes;
      const input = conv.inputs[0]!;
      const outputs = conv.outputs;
      if (outputs.length !== 1) throw new UnsupportedModel('a convolution with several outputs');
      const wideIn = m.fresh(`${input}_vo2d`);
      const wideOut = m.fresh(`${outputs[0]}_vo2d`);
      const node = new Writer();
      let inputIndex = 0;
      for (const x of conv.fs) {
        if (x.field === NODE_INPUT) {
          node.stringField(NODE_INPUT, inputIndex++ === 0 ? wideIn : text(p, x));
        } else if (x.field === NODE_OUTPUT) {
          node.stringField(NODE_OUTPUT, wideOut);
        } else if (x.field === NODE_ATTRIBUTE) {
          const a = payload(p, x);
          const afs = fields(a);
          const nameField = afs.find((y) => y.field === ATTR_NAME);
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
    const weight = widenedWeights.get(f);
    if (weight) {
      const { bytes, fs, dims } = weight;
      const tensor = new Writer().packedInts(TENSOR_DIMS, [dims[0]!, dims[1]!, 1n, dims[2]!]);
      for (const x of fs) if (x.field !== TENSOR_DIMS) tensor.raw(bytes.subarray(x.start, x.end));
      out.bytesField(GRAPH_INITIALIZER, tensor);
      continue;
    }
    out.raw(graph.subarray(f.start, f.end));
  }
  if (useAxesInput) out.bytesField(GRAPH_INITIALIZER, tensorProto(axesName, [1n], [2n]));

  return m.withGraph(out);
}
