import { widenConv1d } from './conv2d.js';
import { type DecoderTailSplit, splitDecoderTail } from './decoder-tail.js';
import { fuseLayerNorms } from './layer-norm.js';
import { denseRelativeAttention } from './relative-attention.js';
import { denseSplines } from './spline.js';

/**
 * What the inference thread does to a voice's model before onnxruntime loads it. Each rewrite was measured faster here
 * and keeps the audio within a step or two of the 16-bit output; one that does not apply to a model is skipped.
 */
export type ModelRewrite = 'dense-spline' | 'dense-attention' | 'layer-norm' | 'conv2d' | 'parallel-decoder';

export interface ModelRewriteOptions {
  /** The duration predictor's masked splines computed on every value (spline.ts). */
  denseSplines: boolean;
  /** The text encoder's relative-position attention through one position map per layer (relative-attention.ts). */
  denseAttention: boolean;
  /** Spelled-out layer normalizations as LayerNormalization nodes (layer-norm.ts). */
  fuseLayerNorms: boolean;
  /** Wide 1-D convolutions as 2-D ones (conv2d.ts). */
  widenConvolutions: boolean;
  /** The model cut before its decoder's last stages, which then run as time slices on several threads (decoder-tail.ts). */
  parallelDecoder?: boolean;
}

/**
 * The model `read` returns, rewritten as asked, with the rewrites that applied (none: the model as read); with
 * `parallelDecoder`, and when it applies, cut in two (`split`; `model` is then its head). `afterStep` runs after each
 * rewrite that applied, when nothing here holds the bytes it replaced any more (the caller may collect them: each is as
 * large as the model).
 */
export function rewriteModel(
  read: () => Uint8Array,
  options: ModelRewriteOptions,
  afterStep: () => void = () => {},
): { model: Uint8Array; applied: ModelRewrite[]; split?: DecoderTailSplit } {
  const steps: Array<[ModelRewrite, boolean, (m: Uint8Array) => Uint8Array | undefined]> = [
    ['dense-spline', options.denseSplines, denseSplines],
    ['dense-attention', options.denseAttention, denseRelativeAttention],
    ['layer-norm', options.fuseLayerNorms, fuseLayerNorms],
    ['conv2d', options.widenConvolutions, widenConv1d],
  ];
  let model = read();
  const applied: ModelRewrite[] = [];
  for (const [name, wanted, rewrite] of steps) {
    const next = wanted ? rewrite(model) : undefined;
    if (next) {
      model = next;
      applied.push(name);
      afterStep();
    }
  }
  const split = options.parallelDecoder ? splitDecoderTail(model) : undefined;
  if (!split) return { model, applied };
  model = split.head;
  afterStep();
  return { model, applied: [...applied, 'parallel-decoder'], split };
}
