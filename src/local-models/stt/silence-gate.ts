/**
 * Whether a clip has anything in it to transcribe. Whisper "hears" words in silence: tiny.en answers "you" for
 * digital silence and for faint noise (measured from -93 to -52 dBFS), and a voice agent would then reply to words
 * nobody said. A clip whose loudest 20 ms is quieter than the threshold is answered with an empty transcript
 * without running the model.
 *
 * The loudest short window decides, not the clip's average: a quiet "Yes." inside seconds of silence has a low
 * average but one loud window. The clip's mean is removed first, so a DC offset does not count as sound.
 * Measured on Piper speech: the loudest 20 ms is at -8 to -12 dBFS, -28 to -32 dBFS when spoken 20 dB quieter
 * (both transcribed perfectly); so the default of -50 dBFS keeps speech 20 dB quieter than that with about 20 dB
 * of margin, and skips noise whose level is below about -50 dBFS RMS.
 */
import { WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';

/** Clips whose loudest 20 ms window is quieter than this (dBFS, RMS) are taken as silence. */
export const DEFAULT_SILENCE_THRESHOLD_DBFS = -50;
/** Half a measuring window at 16 kHz: windows of 20 ms, one every 10 ms. */
const HOP = WHISPER_SAMPLE_RATE / 100;

/** The level of the loudest 20 ms of 16 kHz samples (RMS, dBFS, mean removed); -Infinity for digital silence. */
export function loudestWindowDbfs(samples: Float32Array): number {
  const n = samples.length;
  if (n === 0) return -Infinity;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += samples[i]!;
  mean /= n;
  // energy of each 10 ms block; a window is two neighbouring blocks (a clip shorter than a window is one)
  const blocks = Math.ceil(n / HOP);
  const energy = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let sum = 0;
    for (let i = b * HOP, end = Math.min(n, i + HOP); i < end; i++) {
      const v = samples[i]! - mean;
      sum += v * v;
    }
    energy[b] = sum;
  }
  let loudest = 0;
  for (let b = 0; b < Math.max(1, blocks - 1); b++) {
    const length = Math.min(n, (b + 2) * HOP) - b * HOP;
    loudest = Math.max(loudest, (energy[b]! + (energy[b + 1] ?? 0)) / length);
  }
  return loudest > 0 ? 10 * Math.log10(loudest) : -Infinity;
}

/** Whether 16 kHz samples are silence or near-silence: nothing in them is louder than `thresholdDbfs`. */
export function isSilent(samples: Float32Array, thresholdDbfs = DEFAULT_SILENCE_THRESHOLD_DBFS): boolean {
  return loudestWindowDbfs(samples) < thresholdDbfs;
}
