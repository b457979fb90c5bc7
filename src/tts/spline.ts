/**
 * The duration predictor of Piper's voices (VITS) runs three coupling flows backwards, each through a rational-quadratic
 * spline with linear tails (10 bins, tail bound 5). The export spells the spline out with boolean-mask indexing:
 * NonZero, GatherND and ScatterND over the values inside and outside the bound, and the shape arithmetic around them,
 * about 320 nodes per flow on tensors of a hundred values, where the cost is per node. denseSplines() computes each
 * spline on every value instead (79 nodes: the bin found by counting the knots below the value, the quadratic solved,
 * the value itself kept outside the bound) and removes the masked version.
 *
 * The predicted log-durations agree within float rounding (2.4e-7 on en_US-joe-medium); durations are rounded up to
 * whole frames, so the audio is the same. It edits the serialized model directly (onnx-wire.ts); a flow that does not
 * match exactly (region, inputs, constants, the ops it must contain) is left as it is.
 */
import { CAST_TO_FLOAT, CAST_TO_INT64, constantFloat, editModel, GraphAdditions, matchNodes, spliceGraph, type WireModel, type WireNode } from './onnx-wire.js';

/** VITS's spline settings (modules.py / transforms.py), fixed for every Piper voice. */
const MIN_BIN_WIDTH = 1e-3;
const MIN_BIN_HEIGHT = 1e-3;
const MIN_DERIVATIVE = 1e-3;
/** Added to the last knot so that a value on the upper bound falls in the last bin (transforms.py's searchsorted). */
const LAST_KNOT_EPS = 1e-6;
/** Ops every masked spline has (what tells it from any other coupling): the softmaxes and cumulative sums of the bin
 * widths and heights, the derivatives' softplus, the quadratic's root, and the masked indexing. */
const FINGERPRINT: Record<string, number> = { Softmax: 2, CumSum: 2, Softplus: 1, Sqrt: 1 };

interface Spline {
  /** The masked version's nodes, removed. */
  region: Set<WireNode>;
  /** The new nodes go right before this one (the Concat joining the untouched half back). */
  before: WireNode;
  x: string;
  params: string;
  output: string;
  bins: number;
  tailBound: number;
  divisor: number;
}

/** `model` with its masked splines computed densely, or undefined when it has none this recognises. */
export function denseSplines(model: Uint8Array): Uint8Array | undefined {
  return editModel(model, (m) => {
    if (m.opset < 13n) return undefined; // ReduceSum takes its axes as an input from opset 13
    const splines = matchNodes(m, 'Concat', matchSpline);
    if (splines.length === 0) return undefined;
    const removed = new Set(splines.flatMap((s) => [...s.region].map((n) => n.field)));
    return spliceGraph(m, removed, new Map(splines.map((s) => [s.before.field, denseSpline(m, s)])));
  });
}

/** The nodes `values` are computed from (not counting Constant nodes), up to but not into `stop`. */
function ancestors(m: WireModel, values: readonly string[], stop = new Set<WireNode>()): Set<WireNode> {
  const seen = new Set<WireNode>();
  const todo = [...values];
  for (let v = todo.pop(); v !== undefined; v = todo.pop()) {
    const n = m.producers.get(v);
    if (!n || seen.has(n) || stop.has(n) || n.opType === 'Constant') continue;
    seen.add(n);
    todo.push(...n.inputs);
  }
  return seen;
}

/**
 * A coupling flow's spline ending at `join` = Concat(x0, spline(x1)), where x0 and x1 are the two halves of one Split
 * and the spline's parameters are Mul(Conv(...), mask) computed from x0.
 */
function matchSpline(m: WireModel, join: WireNode): Spline | undefined {
  if (join.domain !== '' || join.inputs.length !== 2) return undefined;
  const [x0, output] = join.inputs as [string, string];
  const split = m.producers.get(x0);
  if (split?.opType !== 'Split' || split.domain !== '' || split.outputs.length !== 2 || split.outputs[0] !== x0) return undefined;
  const x = split.outputs[1]!;
  // one channel per half (VITS's duration predictor: two), as the dense version computes it: the Conv on x0 reads one
  const pre = (m.consumers.get(x0) ?? []).find((n) => n.opType === 'Conv');
  if (m.initializers.get(pre?.inputs[1] ?? '')?.dims[1] !== 1n) return undefined;
  const upstream = ancestors(m, [output]);
  // the parameters: the last Mul(Conv, mask) the output depends on
  const paramsNode = m.nodes.filter((n) => upstream.has(n) && n.opType === 'Mul' && m.producers.get(n.inputs[0] ?? '')?.opType === 'Conv').at(-1);
  const params = paramsNode?.outputs[0];
  if (!paramsNode || params === undefined) return undefined;
  const proj = m.producers.get(paramsNode.inputs[0]!)!;
  const channels = Number(m.initializers.get(proj.inputs[1] ?? '')?.dims[0] ?? 0);
  if (channels < 2 || (channels + 1) % 3 !== 0) return undefined;
  const bins = (channels + 1) / 3;

  const before = ancestors(m, [params, ...split.inputs]);
  before.add(split);
  const region = new Set([...upstream].filter((n) => !before.has(n)));
  const made = new Set([...region].flatMap((n) => n.outputs));
  for (const n of region) {
    if (n.domain !== '') return undefined;
    // reads only the halves, the parameters and constants
    for (const v of n.inputs) {
      if (v === '' || made.has(v) || v === x || v === x0 || v === params || m.initializers.has(v) || m.producers.get(v)?.opType === 'Constant') continue;
      return undefined;
    }
    // and nothing outside reads what it makes
    for (const v of n.outputs) {
      if (v === output) continue;
      if (m.graphOutputs.has(v) || (m.consumers.get(v) ?? []).some((c) => !region.has(c))) return undefined;
    }
  }
  if (m.graphOutputs.has(output) || (m.consumers.get(output) ?? []).some((c) => c !== join)) return undefined;
  const count = (op: string) => [...region].filter((n) => n.opType === op).length;
  if (Object.entries(FINGERPRINT).some(([op, k]) => count(op) !== k) || count('NonZero') === 0 || count('ScatterND') === 0) return undefined;

  // the constants: the tail bound the value is compared with, the scale of the widths and heights
  const lower = [...region].filter((n) => n.opType === 'GreaterOrEqual' && n.inputs[0] === x);
  const upper = [...region].filter((n) => n.opType === 'LessOrEqual' && n.inputs[0] === x);
  if (lower.length !== 1 || upper.length !== 1) return undefined;
  const tailBound = constantFloat(m, upper[0]!.inputs[1]);
  if (tailBound === undefined || !(tailBound > 0) || constantFloat(m, lower[0]!.inputs[1]) !== -tailBound) return undefined;
  const divisors = [...region].filter((n) => n.opType === 'Div').map((n) => constantFloat(m, n.inputs[1]));
  const scales = divisors.filter((d): d is number => d !== undefined);
  if (scales.length !== 2 || scales[0] !== scales[1] || !(scales[0]! > 0)) return undefined;
  return { region, before: join, x, params, output, bins, tailBound, divisor: scales[0]! };
}

/**
 * The spline on every value (transforms.py's unconstrained_rational_quadratic_spline, inverse, linear tails), on
 * [1, T, 1] and [1, T, bins] (time first, so the bins are the last axis): knots from the softmaxed widths and heights,
 * the bin of each value by counting the knots at or below it, the quadratic's root, and the value itself outside the bound.
 */
function denseSpline(m: WireModel, s: Spline): GraphAdditions {
  const { bins: K, tailBound: B } = s;
  const add = new GraphAdditions(m, m.fresh(`${s.output}_vo_spline`));
  const node = add.node.bind(add);
  const constant = add.constant.bind(add);
  const scalar = (suffix: string, value: number) => constant(suffix, [value], []);
  const lastAxis = constant('last_axis', [-1n]);
  const slice = (t: string, from: number, to: number, suffix: string) =>
    node('Slice', [t, constant(`${suffix}_from`, [BigInt(from)]), constant(`${suffix}_to`, [BigInt(to)]), lastAxis], suffix);

  const x = node('Transpose', [s.x], 'x', { perm: [0n, 2n, 1n] }); // [1, T, 1]
  const params = node('Transpose', [s.params], 'params', { perm: [0n, 2n, 1n] }); // [1, T, 3K-1]
  const divisor = scalar('divisor', s.divisor);
  const shape = node('Shape', [x], 'shape');
  const filled = (value: number, suffix: string) => node('Expand', [constant(`${suffix}_value`, [value]), shape], suffix);
  const lowest = filled(-B, 'lowest');
  const highest = filled(B, 'highest');

  /** Knot positions [1, T, K+1] from -B to B, and the bins' sizes [1, T, K]. */
  const knots = (unnormalized: string, minimum: number, suffix: string) => {
    const soft = node('Softmax', [unnormalized], `${suffix}_softmax`, { axis: -1n });
    const sizes = node(
      'Add',
      [scalar(`${suffix}_min`, minimum), node('Mul', [soft, scalar(`${suffix}_scale`, 1 - minimum * K)], `${suffix}_scaled`)],
      `${suffix}_sizes`,
    );
    const cumulative = node('CumSum', [sizes, constant(`${suffix}_cumsum_axis`, [-1n])], `${suffix}_cumsum`);
    const inner = node(
      'Sub',
      [node('Mul', [slice(cumulative, 0, K - 1, `${suffix}_inner`), scalar(`${suffix}_span`, 2 * B)], `${suffix}_spanned`), scalar(`${suffix}_bound`, B)],
      `${suffix}_shifted`,
    );
    const at = node('Concat', [lowest, inner, highest], `${suffix}_knots`, { axis: -1n });
    const size = node('Sub', [slice(at, 1, K + 1, `${suffix}_upper`), slice(at, 0, K, `${suffix}_lower`)], `${suffix}_bins`);
    return { at, size };
  };
  const widths = knots(node('Div', [slice(params, 0, K, 'widths_raw'), divisor], 'widths_unnormalized'), MIN_BIN_WIDTH, 'widths');
  const heights = knots(node('Div', [slice(params, K, 2 * K, 'heights_raw'), divisor], 'heights_unnormalized'), MIN_BIN_HEIGHT, 'heights');
  // the derivatives at the knots; the outer two are 1 (the linear tails' slope)
  const one = filled(1, 'one');
  const inner = node(
    'Add',
    [scalar('min_derivative', MIN_DERIVATIVE), node('Softplus', [slice(params, 2 * K, 3 * K - 1, 'derivatives_raw')], 'softplus')],
    'inner_derivatives',
  );
  const derivatives = node('Concat', [one, inner, one], 'derivatives', { axis: -1n });

  // the bin: knots at or below the value, minus one, within [0, K-1] (values outside the bound are replaced below)
  const locations = node('Add', [heights.at, constant('last_knot_eps', [...new Array(K).fill(0), LAST_KNOT_EPS])], 'locations');
  const passed = node('Cast', [node('GreaterOrEqual', [x, locations], 'at_or_above')], 'at_or_above_float', { to: CAST_TO_FLOAT });
  const count = node('ReduceSum', [passed, lastAxis], 'knots_passed', { keepdims: 1n });
  const bin = node(
    'Cast',
    [node('Clip', [node('Sub', [count, scalar('one_scalar', 1)], 'bin_float'), scalar('first_bin', 0), scalar('last_bin', K - 1)], 'bin_clipped')],
    'bin',
    { to: CAST_TO_INT64 },
  );
  const pick = (t: string, suffix: string) => node('GatherElements', [t, bin], suffix, { axis: -1n });
  const knotX = pick(widths.at, 'knot_x');
  const binWidth = pick(widths.size, 'bin_width');
  const knotY = pick(heights.at, 'knot_y');
  const binHeight = pick(heights.size, 'bin_height');
  const slope = node('Div', [binHeight, binWidth], 'slope');
  const d0 = pick(derivatives, 'd0');
  const d1 = pick(slice(derivatives, 1, K + 1, 'derivatives_next'), 'd1');

  // the inverse: solve a t^2 + b t + c = 0 for t in [0, 1], the position within the bin
  const dy = node('Sub', [x, knotY], 'dy');
  const curvature = node('Sub', [node('Add', [d0, d1], 'd_sum'), node('Mul', [slope, scalar('two', 2)], 'slope_twice')], 'curvature');
  const dyCurved = node('Mul', [dy, curvature], 'dy_curved');
  const a = node('Add', [dyCurved, node('Mul', [binHeight, node('Sub', [slope, d0], 'slope_minus_d0')], 'height_term')], 'a');
  const b = node('Sub', [node('Mul', [binHeight, d0], 'height_d0'), dyCurved], 'b');
  const c = node('Mul', [node('Neg', [slope], 'neg_slope'), dy], 'c');
  const discriminant = node(
    'Sub',
    [node('Mul', [b, b], 'b_squared'), node('Mul', [node('Mul', [a, scalar('four', 4)], 'a_four'), c], 'four_ac')],
    'discriminant',
  );
  const root = node(
    'Div',
    [node('Mul', [c, scalar('two_c', 2)], 'c_twice'), node('Sub', [node('Neg', [b], 'neg_b'), node('Sqrt', [discriminant], 'sqrt')], 'denominator')],
    'root',
  );
  const inside = node('Add', [node('Mul', [root, binWidth], 'offset'), knotX], 'inside_value');
  const within = node(
    'And',
    [node('GreaterOrEqual', [x, scalar('lower_bound', -B)], 'above_lower'), node('LessOrEqual', [x, scalar('upper_bound', B)], 'below_upper')],
    'within',
  );
  const y = node('Where', [within, inside, x], 'y');
  node('Transpose', [y], 'output', { perm: [0n, 2n, 1n] }, s.output);
  return add;
}
