import { abortable } from './abortable.js';
import type { SpeechChunk, SynthesisOptions } from './types.js';
import type { PiperVoice } from './voice.js';

export interface PhonemizedSentence {
  /** The sentence's text, for display (for a long sentence cut into chunks: about this chunk's part). */
  text: string;
  /** Model input: ^ _ (phoneme _)* $, at most TTS_MAX_PHONEMES_PER_CHUNK phonemes. */
  ids: number[];
}

export interface SynthesisStats {
  voice: string;
  /** Seconds of audio produced. */
  audioSeconds: number;
  synthesisMs: number;
}

export interface ChunkStreamOptions {
  scales: { noiseScale: number; lengthScale: number; noiseW: number };
  speakerId: number | undefined;
  signal: AbortSignal | undefined;
  acquireSlot: SynthesisOptions['acquireSlot'];
  onSentence: ((stats: SynthesisStats) => void) | undefined;
}

const MAX_WAV_VALUE = 32767;

/**
 * Runs a text's inferences in order and yields each chunk. The next inference starts once the
 * current chunk is handed over, not before, and never after the consumer stopped or aborted.
 */
export async function* streamChunks(voice: PiperVoice, chunks: PhonemizedSentence[], options: ChunkStreamOptions): AsyncGenerator<SpeechChunk> {
  const { signal, acquireSlot } = options;
  let stopped = false;
  let audioMsSoFar = 0;
  const run = (index: number) =>
    synthesizeChunk(voice, chunks[index]!, options, {
      gate: acquireSlot && (() => acquireSlot({ chunkIndex: index, audioMsSoFar })),
      cancelled: () => stopped || signal?.aborted === true,
    });
  let pending: Promise<SpeechChunk> | undefined = chunks.length > 0 ? run(0) : undefined;
  pending?.catch(() => undefined); // rejections are observed below; an early abort must not leave one unhandled
  try {
    for (let i = 0; pending; i++) {
      const chunk = await abortable(pending, signal);
      pending = undefined;
      audioMsSoFar += (chunk.pcm.length / chunk.sampleRate) * 1000;
      if (i + 1 < chunks.length) {
        pending = new Promise<SpeechChunk>((res, rej) =>
          setImmediate(() => (stopped || signal?.aborted ? rej(new Error('cancelled')) : run(i + 1).then(res, rej))),
        );
        pending.catch(() => undefined); // an abandoned iteration must not leave an unhandled rejection
      }
      signal?.throwIfAborted();
      yield chunk;
    }
  } finally {
    stopped = true;
  }
}

/**
 * One inference. With a gate (SynthesisOptions.acquireSlot) the slot is awaited first and
 * released once the inference has settled; a slot granted after the caller stopped is given back
 * at once without inferring.
 */
async function synthesizeChunk(
  voice: PiperVoice,
  sentence: PhonemizedSentence,
  options: ChunkStreamOptions,
  control: { gate: (() => Promise<() => void>) | undefined; cancelled: () => boolean },
): Promise<SpeechChunk> {
  let release: (() => void) | undefined;
  if (control.gate) {
    const granted = await abortable(control.gate(), options.signal, (r) => r());
    let done = false;
    release = () => {
      if (done) return;
      done = true;
      granted();
    };
    if (control.cancelled()) {
      release();
      throw new Error('cancelled');
    }
  }
  try {
    const started = performance.now();
    const audio = await voice.infer(sentence.ids, options.scales, options.speakerId);
    release?.();
    const pcm = peakNormalize(audio);
    const synthesisMs = performance.now() - started;
    options.onSentence?.({ voice: voice.name, audioSeconds: pcm.length / voice.sampleRate, synthesisMs });
    return { pcm, sampleRate: voice.sampleRate, text: sentence.text, synthesisMs };
  } finally {
    release?.();
  }
}

/** Piper's reference int16 conversion: scale the peak to full range (quiet audio is not boosted past 100x). */
export function peakNormalize(audio: Float32Array): Int16Array {
  let peak = 0;
  for (let i = 0; i < audio.length; i++) {
    const a = Math.abs(audio[i]!);
    if (a > peak) peak = a;
  }
  const scale = MAX_WAV_VALUE / Math.max(0.01, peak);
  const pcm = new Int16Array(audio.length);
  for (let i = 0; i < audio.length; i++) {
    const v = audio[i]! * scale;
    pcm[i] = v > MAX_WAV_VALUE ? MAX_WAV_VALUE : Math.max(v, -MAX_WAV_VALUE); // truncates like the C++ cast
  }
  return pcm;
}
