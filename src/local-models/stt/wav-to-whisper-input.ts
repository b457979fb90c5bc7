/**
 * An uploaded WAV file turned into what Whisper takes: 16 kHz mono float samples. 16-bit PCM of any rate from
 * 4 to 192 kHz and 1 to 32 channels is read (mixed down, resampled); anything else, and audio over the length
 * limit, is a RequestError 400 about the field `file`.
 */
import { Resampler } from '../../audio/resampler.js';
import { decodeWav } from '../../audio/wav.js';
import { audioError } from './request-error.js';
import { WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';

const MIN_SAMPLE_RATE = 4000;
const MAX_SAMPLE_RATE = 192_000;
const MAX_CHANNELS = 32;
/** Resampling runs in slices of this many input frames, yielding in between so /health stays responsive. */
const RESAMPLE_SLICE_FRAMES = 48_000;

export interface WhisperInput {
  /** 16 kHz mono samples in [-1, 1). */
  samples: Float32Array;
  /** Length of the audio as sent, seconds. */
  seconds: number;
}

/** 16 kHz mono float samples of a 16-bit PCM WAV file of any rate and channel count, at most `maxAudioSeconds` long. */
export async function wavToWhisperInput(bytes: Buffer, maxAudioSeconds: number): Promise<WhisperInput> {
  let audio: ReturnType<typeof decodeWav>;
  try {
    audio = decodeWav(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw audioError(`the file is not a WAV file this server reads (16-bit PCM): ${(err as Error).message}`);
  }
  const { sampleRate, channels, pcm } = audio;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw audioError(`the WAV file has ${channels} channels (1 to ${MAX_CHANNELS} are supported)`);
  }
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw audioError(`the WAV file's sample rate ${sampleRate} Hz is not supported (${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz)`);
  }
  const frames = Math.floor(pcm.length / channels);
  const seconds = frames / sampleRate;
  if (seconds > maxAudioSeconds) {
    throw audioError(`the audio is ${seconds.toFixed(1)} s long; at most ${maxAudioSeconds} s are accepted`, 'audio_too_long');
  }
  const mono = channels > 1 ? mixDown(pcm, channels, frames) : pcm.subarray(0, frames);
  const resampled = sampleRate === WHISPER_SAMPLE_RATE ? mono : await resample(mono, sampleRate);
  const samples = new Float32Array(resampled.length);
  for (let i = 0; i < resampled.length; i++) samples[i] = resampled[i]! / 32768;
  return { samples, seconds };
}

/** The average of the channels of interleaved PCM. */
function mixDown(pcm: Int16Array, channels: number, frames: number): Int16Array {
  const mono = new Int16Array(frames);
  for (let f = 0, at = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[at++]!;
    mono[f] = Math.round(sum / channels);
  }
  return mono;
}

/** `mono` at Whisper's rate, converted a slice at a time so other requests are served meanwhile. */
async function resample(mono: Int16Array, sampleRate: number): Promise<Int16Array> {
  let resampler: Resampler;
  try {
    resampler = new Resampler(sampleRate, WHISPER_SAMPLE_RATE);
  } catch {
    throw audioError(`the WAV file's sample rate ${sampleRate} Hz is not supported`);
  }
  const frames = mono.length;
  const out = new Int16Array(Math.ceil((frames * WHISPER_SAMPLE_RATE) / sampleRate));
  let written = 0;
  const put = (part: Int16Array) => {
    out.set(part, written);
    written += part.length;
  };
  for (let at = 0; at < frames; at += RESAMPLE_SLICE_FRAMES) {
    put(resampler.push(mono.subarray(at, Math.min(frames, at + RESAMPLE_SLICE_FRAMES))));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  put(resampler.flush());
  return out.subarray(0, written);
}
