/**
 * What WhisperEngine and its worker thread (whisper-worker.ts) agree on: the messages between them, how a clip is
 * prepared for whisper.cpp (encoder context, minimum length, sample range) and the check of a model file before a
 * worker tries to load it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { LocalModelFileError, MODELS_SETUP_COMMAND } from '../model-files.js';
import type { TranscriptionSegment } from './transcription-types.js';

/** Whisper's input rate: transcribe() takes mono float samples at this rate. */
export const WHISPER_SAMPLE_RATE = 16_000;
/** Whisper's window: longer audio is decoded in several windows. */
const WINDOW_SECONDS = 30;
/** Encoder positions of one full window (whisper.cpp's n_audio_ctx for every Whisper model). */
const FULL_AUDIO_CTX = 1500;
/**
 * Smallest encoder context used when it is scaled to the clip (`audioContext: 'auto'`), in positions of 20 ms.
 * whisper.cpp pads every clip to 30 s and the encoder's cost grows with its context, so short clips are
 * several times faster with a smaller one. At 10 s of context tiny.en transcribes short questions as well as at
 * 15 s (123 flite clips: mean word accuracy 0.902 against 0.907) in 0.6x the time (p50 248 against 405 ms), but
 * now and then it repeats the sentence through its temperature fallback for seconds (1 of 164 clips with other
 * padding: 8.6 s). So that first pass is capped at MAX_TOKENS_PER_SECOND, and a transcript that repeats itself
 * is transcribed again at SAFE_AUDIO_CTX, where none of those clips looped.
 */
const MIN_AUDIO_CTX = 512;
/** The context a transcript that repeated itself is transcribed again with (15 s). */
export const SAFE_AUDIO_CTX = 768;
/**
 * Tokens of the first pass per second of audio (fast English is about 5), plus TOKEN_ALLOWANCE: a loop stops there
 * within a few hundred ms (measured; at 16 per second, a loop still ran for 9 s).
 */
const MAX_TOKENS_PER_SECOND = 8;
const TOKEN_ALLOWANCE = 16;
/** Context beyond the clip's own length (1.28 s), so speech at the very end is still seen. */
const AUDIO_CTX_MARGIN = 64;
/**
 * whisper.cpp returns nothing for input shorter than 1 s ("input is too short"), which would lose a short "Yes."
 * Shorter clips are padded with silence to this length.
 */
const MIN_INPUT_SAMPLES = Math.round(1.25 * WHISPER_SAMPLE_RATE);

/** Sent to the worker thread as its workerData. */
export interface WorkerInit {
  modelPath: string;
  threads: number;
  /** Encoder context of the warm-up run (0: full). */
  warmUpAudioCtx: number;
}

/** Messages to the worker thread. */
export interface TranscribeMessage {
  type: 'transcribe';
  id: number;
  samples: Float32Array;
  language: string;
  prompt: string;
  temperature: number;
  /** whisper.cpp audio_ctx, 0 for the full window. */
  audioCtx: number;
  /** One segment (clips up to 30 s): a little faster, and nothing is lost at a window edge. */
  singleSegment: boolean;
}

/** Messages from the worker thread. */
export type FromWorker =
  | { type: 'ready'; multilingual: boolean; languages: Array<{ code: string; name: string }>; loadMs: number }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; text: string; segments: TranscriptionSegment[]; ms: number }
  | { type: 'failed'; id: number; message: string };

/** The worker's answer to one TranscribeMessage. */
export type TranscribeAnswer = Extract<FromWorker, { type: 'result' | 'failed' }>;

/** whisper.cpp's encoder context for a clip of `samples` (0: the full window). */
export function audioContextFor(samples: number, mode: 'auto' | 'full'): number {
  if (mode === 'full' || samples > WINDOW_SECONDS * WHISPER_SAMPLE_RATE) return 0;
  const ctx = Math.ceil((samples / WHISPER_SAMPLE_RATE / WINDOW_SECONDS) * FULL_AUDIO_CTX) + AUDIO_CTX_MARGIN;
  const scaled = Math.max(MIN_AUDIO_CTX, ctx);
  return scaled >= FULL_AUDIO_CTX ? 0 : scaled;
}

/**
 * The first pass's encoder context and token cap (0: none). The small context and the cap were measured on English
 * only: other languages (written in more tokens per second) keep the safe context, uncapped.
 */
export function firstPass(samples: number, audioCtx: number, language: string): { audioCtx: number; maxTokens: number } {
  if (audioCtx === 0 || audioCtx >= SAFE_AUDIO_CTX) return { audioCtx, maxTokens: 0 };
  if (language !== 'en') return { audioCtx: SAFE_AUDIO_CTX, maxTokens: 0 };
  return { audioCtx, maxTokens: Math.ceil((samples / WHISPER_SAMPLE_RATE) * MAX_TOKENS_PER_SECOND) + TOKEN_ALLOWANCE };
}

/**
 * Whether a transcript repeats a phrase of three or more words back to back ("what color is grass what color is
 * grass"): how whisper.cpp's looping shows, and rare in what people say.
 */
export function repeatsItself(text: string): boolean {
  const words = text.toLowerCase().match(/[a-z0-9']+/g) ?? [];
  for (let n = 3; 2 * n <= words.length; n++) {
    for (let i = 0; i + 2 * n <= words.length; i++) {
      let same = true;
      for (let k = 0; k < n && same; k++) same = words[i + k] === words[i + n + k];
      if (same) return true;
    }
  }
  return false;
}

/** A word of a transcript, as withoutRepetition() counts them. */
const WORD = /[A-Za-z0-9']+/g;

/**
 * A transcript that is one phrase of four or more words said over and over, exactly ("Thank you for your help.
 * Thank you for your help."), cut to its first time; segments past it are dropped. Whisper tiny does this now and
 * then even at the safe context (seen in CI on a Piper clip with a prompt); people rarely do (a short "turn it off,
 * turn it off" is kept). Anything else is returned as it is.
 */
export function withoutRepetition(text: string, segments: TranscriptionSegment[]): { text: string; segments: TranscriptionSegment[] } {
  const words = [...text.matchAll(WORD)];
  const lower = words.map((w) => w[0].toLowerCase());
  for (let n = 4; 2 * n <= lower.length; n++) {
    if (lower.length % n !== 0) continue;
    if (!lower.every((word, i) => word === lower[i % n])) continue;
    const next = words[n]!.index;
    const kept: TranscriptionSegment[] = [];
    let count = 0;
    for (const segment of segments) {
      if (count >= n) break;
      kept.push(segment);
      count += segment.text.match(WORD)?.length ?? 0;
    }
    return { text: text.slice(0, next).trim(), segments: kept };
  }
  return { text, segments };
}

/** Whether a clip of `samples` fits one window, so it can be decoded as one segment. */
export function fitsOneWindow(samples: number): boolean {
  return samples <= WINDOW_SECONDS * WHISPER_SAMPLE_RATE;
}

/**
 * A copy for the worker (its buffer moves there, the caller's array stays usable): at least whisper.cpp's minimum
 * length (silence after the audio), NaN and ±Infinity as 0, within [-1, 1].
 */
export function whisperInput(samples: Float32Array): Float32Array {
  const copy = new Float32Array(Math.max(samples.length, MIN_INPUT_SAMPLES));
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    copy[i] = v > 1 ? 1 : v < -1 ? -1 : Number.isNaN(v) ? 0 : v;
  }
  return copy;
}

/** Checks the model file before a worker tries it; errors name only the file and the set-up command. */
export function checkWhisperModel(modelPath: string): void {
  const file = basename(modelPath);
  let size: number;
  try {
    const stat = statSync(modelPath);
    if (!stat.isFile()) throw new LocalModelFileError(`the speech-to-text model ${file} is not a file; run \`${MODELS_SETUP_COMMAND}\``);
    size = stat.size;
  } catch (err) {
    if (err instanceof LocalModelFileError) throw err;
    throw new LocalModelFileError(`the speech-to-text model ${file} is not installed; run \`${MODELS_SETUP_COMMAND}\` to install it`);
  }
  const head = Buffer.alloc(4);
  const fd = openSync(modelPath, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 1024 * 1024 || head.readUInt32LE(0) !== 0x67676d6c) {
    throw new LocalModelFileError(
      `the speech-to-text model ${file} is not a whisper.cpp ggml model (corrupt or incomplete?); delete it and run \`${MODELS_SETUP_COMMAND}\``,
    );
  }
}
