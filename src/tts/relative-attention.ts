/**
 * The text encoder of Piper's voices (VITS) adds relative-position terms to each of its 6 attention layers: the
 * queries against 2w+1 learned key embeddings (w = 4), and the attention weights against as many value embeddings.
 * The export computes them the way attentions.py writes them: the embeddings padded to 2t-1 positions, then the
 * relative-to-absolute conversion as pads, reshapes and slices, with the shape arithmetic for each of them. That is
 * about 70 nodes per layer, each run once per inference.
 *
 * denseRelativeAttention() computes the same terms with one matrix per layer that maps offset k of position i to
 * position j (one where j - i = k - w): the queries times the key embeddings ([t, 2w+1]), then through that map to
 * [t, t]; the weights through the map to [t, 2w+1], then times the value embeddings. 23 nodes per layer (14 of them
 * build the map from t), the same values within float rounding. It edits the serialized model directly (onnx-wire.ts); a layer whose chains do not
 * match exactly is left as it is.
 */
import {
  ATTR_INTS,
  CAST_TO_FLOAT,
  editModel,
  type Field,
  GraphAdditions,
  int64s,
  matchNodes,
  spliceGraph,
  type WireModel,
  type WireNode,
} from './onnx-wire.js';

interface Layer {
  /** The scaled queries [b, h, t, d] (the left side of the queries-times-keys MatMul). */
  queries: string;
  /** The attention weights [b, h, t, t] (a Softmax's output). */
  weights: string;
  keyEmbeddings: string;
  valueEmbeddings: string;
  window: number;
  /** The relative-key scores added to queries times keys: the last node of their chain makes it, ours will. */
  keyScores: WireNode;
  /** The relative-value output added to weights times values. */
  valueOutput: WireNode;
  /** The Adds reading them: the new nodes go right before each. */
  keyAdd: WireNode;
  valueAdd: WireNode;
}

/** `model` with its attention layers' relative-position terms computed densely, or undefined when it has none this recognises. */
export function denseRelativeAttention(model: Uint8Array): Uint8Array | undefined {
  return editModel(model, (m) => {
    if (m.opset < 13n) return undefined; // Unsqueeze takes its axes as an input from opset 13
    const layers = matchNodes(m, 'Softmax', matchLayer);
    if (layers.length === 0) return undefined;
    const insertBefore = new Map<Field, GraphAdditions>();
    const readByNew = new Set<string>();
    for (const layer of layers) {
      const { key, value } = denseTerms(m, layer);
      insertBefore.set(layer.keyAdd.field, key);
      insertBefore.set(layer.valueAdd.field, value);
      for (const v of [layer.queries, layer.weights, layer.keyEmbeddings, layer.valueEmbeddings]) readByNew.add(v);
    }
    const dead = deadNodes(m, new Set(layers.flatMap((l) => [l.keyScores, l.valueOutput])), readByNew);
    return spliceGraph(m, new Set([...dead].map((n) => n.field)), insertBefore);
  });
}

/** The node making `value` when it is a default-domain `op`, else undefined. */
function producer(m: WireModel, value: string | undefined, op: string): WireNode | undefined {
  const n = value === undefined ? undefined : m.producers.get(value);
  return n?.opType === op && n.domain === '' ? n : undefined;
}

/** Walks up first inputs through nodes of the given ops, in order; the last node, or undefined on a mismatch. */
function chain(m: WireModel, value: string, ops: readonly string[]): WireNode | undefined {
  let node: WireNode | undefined;
  let v = value;
  for (const op of ops) {
    node = producer(m, v, op);
    if (!node) return undefined;
    v = node.inputs[0]!;
  }
  return node;
}

/** attentions.py's _relative_position_to_absolute_position (and back), as exported: pad, reshape, pad, reshape, slice. */
const POSITION_CONVERSION = ['Slice', 'Reshape', 'Pad', 'Reshape', 'Pad'] as const;

/** An embedding [1, 2w+1, d] (an initializer) as _get_relative_embeddings pads and slices it to 2t-1 positions. */
function embedding(m: WireModel, value: string, ops: readonly string[]): { name: string; window: number } | undefined {
  const pad = chain(m, value, [...ops, 'Pad']);
  const name = pad?.inputs[0];
  const dims = name === undefined ? undefined : m.initializers.get(name)?.dims;
  if (name === undefined || dims?.length !== 3 || dims[0] !== 1n || dims[1]! < 3n || dims[1]! % 2n !== 1n) return undefined;
  return { name, window: Number((dims[1]! - 1n) / 2n) };
}

/** The perm attribute of a Transpose, as text ('0,1,3,2'), or undefined. */
function perm(n: WireNode): string | undefined {
  const a = n.attribute('perm');
  return a ? int64s(a.bytes, a.fs, ATTR_INTS).join(',') : undefined;
}

/**
 * A layer around `softmax`: Softmax(Where(mask, fill, Add(MatMul(q, k), keyScores))), where keyScores = positions
 * converted (MatMul(q, Transpose(Unsqueeze(embedding)))), and Add(MatMul(softmax, v), MatMul(positions converted
 * (softmax), Unsqueeze(embedding))).
 */
function matchLayer(m: WireModel, softmax: WireNode): Layer | undefined {
  if (softmax.domain !== '') return undefined;
  const weights = softmax.outputs[0]!;
  const where = producer(m, softmax.inputs[0], 'Where');
  const keyAdd = producer(m, where?.inputs[2], 'Add');
  if (keyAdd?.inputs.length !== 2) return undefined;
  const qk = producer(m, keyAdd.inputs[0], 'MatMul');
  const keyScores = producer(m, keyAdd.inputs[1], 'Slice');
  if (!qk || !keyScores) return undefined;
  const queries = qk.inputs[0]!;
  // keys: the queries times the padded embeddings, converted to absolute positions
  const relativeKeys = chain(m, keyAdd.inputs[1]!, POSITION_CONVERSION);
  const keysMatMul = producer(m, relativeKeys?.inputs[0], 'MatMul');
  if (!keysMatMul || keysMatMul.inputs[0] !== queries) return undefined;
  const transpose = producer(m, keysMatMul.inputs[1], 'Transpose');
  if (!transpose || perm(transpose) !== '0,1,3,2') return undefined;
  const key = embedding(m, keysMatMul.inputs[1]!, ['Transpose', 'Unsqueeze', 'Slice']);
  // values: the weights converted to relative positions, times the padded embeddings
  const readers = m.consumers.get(weights) ?? [];
  const valueAdds = readers.flatMap((r) => {
    if (r.opType !== 'MatMul' || r.domain !== '' || r.inputs[0] !== weights) return [];
    return (m.consumers.get(r.outputs[0]!) ?? []).filter((a) => a.opType === 'Add' && a.domain === '' && a.inputs.length === 2);
  });
  if (!key || valueAdds.length !== 1) return undefined;
  const valueAdd = valueAdds[0]!;
  const valueOutput = valueAdd.inputs.map((v) => producer(m, v, 'MatMul')).find((n) => n && n.inputs[0] !== weights);
  if (!valueOutput) return undefined;
  const converted = chain(m, valueOutput.inputs[0]!, POSITION_CONVERSION);
  if (!converted || converted.inputs[0] !== weights) return undefined;
  const value = embedding(m, valueOutput.inputs[1]!, ['Unsqueeze', 'Slice']);
  if (!value || value.window !== key.window) return undefined;
  for (const n of [keyScores, valueOutput]) if (m.graphOutputs.has(n.outputs[0]!)) return undefined;
  return {
    queries,
    weights,
    keyEmbeddings: key.name,
    valueEmbeddings: value.name,
    window: key.window,
    keyScores,
    valueOutput,
    keyAdd,
    valueAdd,
  };
}

/**
 * `replaced` and every node that only they read (directly or not): what nothing computes from any more once their
 * outputs come from new nodes. A node read by a new node (`keep`) or making a graph output stays.
 */
function deadNodes(m: WireModel, replaced: Set<WireNode>, keep: Set<string>): Set<WireNode> {
  const dead = new Set(replaced);
  // the graph is in topological order, so every reader comes after what it reads: one backwards pass
  for (let i = m.nodes.length - 1; i >= 0; i--) {
    const n = m.nodes[i]!;
    if (dead.has(n)) continue;
    const readers = n.outputs.flatMap((v) => m.consumers.get(v) ?? []);
    const used = n.outputs.some((v) => m.graphOutputs.has(v) || keep.has(v));
    if (!used && readers.length > 0 && readers.every((r) => dead.has(r))) dead.add(n);
  }
  return dead;
}

/** The two terms of one layer: nodes to insert before the keys' Add (making keyScores) and before the values' Add. */
function denseTerms(m: WireModel, layer: Layer): { key: GraphAdditions; value: GraphAdditions } {
  const keyScores = layer.keyScores.outputs[0]!;
  const base = m.fresh(`${keyScores}_vo_relattn`);
  const key = new GraphAdditions(m, base);
  const node = key.node.bind(key);
  const ints = key.constant.bind(key);
  const w = layer.window;
  const offsets = Array.from({ length: 2 * w + 1 }, (_, k) => BigInt(k - w));

  // the map from offsets to positions, built from t: where j - i equals each offset
  const t = node('Gather', [node('Shape', [layer.queries], 'shape'), ints('time_axis', [2n], [])], 'time', { axis: 0n });
  const positions = node('Range', [ints('zero', [0n], []), t, ints('one', [1n], [])], 'positions');
  const offsetOf = node(
    'Sub',
    [node('Unsqueeze', [positions, ints('row_axis', [0n])], 'row'), node('Unsqueeze', [positions, ints('column_axis', [1n])], 'column')],
    'offset_of',
  ); // [t, t]: j - i
  const oneHot = (at: bigint, offsetDims: bigint[], suffix: string) => {
    const offsetsAt = node('Unsqueeze', [offsetOf, ints(`${suffix}_axis`, [at])], `${suffix}_offsets`);
    const equal = node('Equal', [offsetsAt, ints(`${suffix}_wanted`, offsets, offsetDims)], `${suffix}_equal`);
    const float = node('Cast', [equal], `${suffix}_float`, { to: CAST_TO_FLOAT });
    return node('Unsqueeze', [float, ints(`${suffix}_batch_axis`, [1n])], suffix);
  };
  const toPositions = oneHot(1n, [BigInt(offsets.length), 1n], 'to_positions'); // [t, 1, 2w+1, t]
  const toOffsets = oneHot(2n, [BigInt(offsets.length)], 'to_offsets'); // [t, 1, t, 2w+1]

  // keys: queries [b, h, t, d] times the embeddings [d, 2w+1], then each row i through the map to [t]
  const perRow = [2n, 0n, 1n, 3n];
  const back = [1n, 2n, 0n, 3n];
  const embeddingsT = node('Transpose', [layer.keyEmbeddings], 'key_embeddings_t', { perm: [0n, 2n, 1n] });
  const byOffset = node('MatMul', [layer.queries, embeddingsT], 'key_by_offset');
  const byPosition = node('MatMul', [node('Transpose', [byOffset], 'key_rows', { perm: perRow }), toPositions], 'key_by_position');
  node('Transpose', [byPosition], 'key_scores', { perm: back }, keyScores);

  // values: each row of the weights through the map to offsets [2w+1], times the embeddings [2w+1, d]
  const value = new GraphAdditions(m, base);
  const rows = value.node('Transpose', [layer.weights], 'weight_rows', { perm: perRow });
  const byOffsetRows = value.node('MatMul', [rows, toOffsets], 'weights_by_offset_rows');
  const byOffsetWeights = value.node('Transpose', [byOffsetRows], 'weights_by_offset', { perm: back });
  value.node('MatMul', [byOffsetWeights, layer.valueEmbeddings], 'value_output', {}, layer.valueOutput.outputs[0]!);
  return { key, value };
}
