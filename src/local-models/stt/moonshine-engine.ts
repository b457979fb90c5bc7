/**
 * Local speech-to-text: Moonshine tiny (English) run by sherpa-onnx-node.
 *
 * Moonshine encodes the audio it is given, not a fixed 30 s window as Whisper does, so a 2-3 s utterance takes
 * about 60-90 ms here against 230-400 for whisper.cpp tiny.en. sherpa-onnx decodes on libuv's thread pool
 * (`decodeAsync`): the event loop stays free without a worker thread of our own. Requests wait their turn in a
 * SerialQueue (one transcription at a time, up to `maxQueue` waiting, 'queue_full' beyond).
 */
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { Logger } from '../../ops/logger.js';
import type { MoonshineModelFiles } from '../model-files.js';
import { disposedError, SerialQueue } from './serial-queue.js';
import { type TranscribeOptions, type Transcription, TranscriptionError } from './transcription-types.js';
import { WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';

/** The part of sherpa-onnx-node's (untyped) API used here. */
interface SherpaOfflineStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}
interface SherpaOfflineRecognizer {
  createStream(): SherpaOfflineStream;
  decodeAsync(stream: SherpaOfflineStream): Promise<{ text: string }>;
}
interface SherpaModule {
  OfflineRecognizer: { createAsync(config: object): Promise<SherpaOfflineRecognizer> };
}

/**
 * Moonshine says about 3 words a second of speech; a transcript far longer than that is the decoder repeating
 * itself (as small models do on noise), cut at this many characters per second of audio.
 */
const MAX_CHARS_PER_SECOND = 40;
/**
 * sherpa-onnx 1.13 returns nothing for Moonshine on clips of 10 s and more (an onnxruntime shape error in the
 * decoder; 8.6 s still worked here). Longer audio is transcribed in segments of at most this many seconds, each
 * ending at the quietest 20 ms of its last SPLIT_SEARCH_SECONDS, between words as a rule.
 */
const MAX_SEGMENT_SECONDS = 8;
const SPLIT_SEARCH_SECONDS = 3;

export interface MoonshineEngineOptions {
  /** The model folder's files (checked by checkedMoonshineModel). */
  files: MoonshineModelFiles;
  /** Model id reported to clients. Default: the folder's name. */
  name?: string;
  /** CPU threads of one transcription. Default 1 (faster and steadier than 2 on short clips). */
  threads?: number;
  /** Requests that may wait while one is transcribed; more are refused. Default 4. */
  maxQueue?: number;
  logger?: Logger;
}

export class MoonshineEngine {
  readonly name: string;
  private readonly queue: SerialQueue<Float32Array, Transcription>;

  private constructor(
    private readonly recognizer: SherpaOfflineRecognizer,
    maxQueue: number,
    name: string,
  ) {
    this.name = name;
    this.queue = new SerialQueue({ maxQueue, run: (samples) => this.run(samples), typicalMs: 100 });
  }

  /** Loads the model and runs one warm-up transcription (the first real request is then not a cold start). */
  static async load(options: MoonshineEngineOptions): Promise<MoonshineEngine> {
    const threads = options.threads ?? 1;
    const maxQueue = options.maxQueue ?? 4;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer (got ${options.threads})`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer (got ${options.maxQueue})`);
    const started = performance.now();
    const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
    const recognizer = await sherpa.OfflineRecognizer.createAsync({
      featConfig: { sampleRate: WHISPER_SAMPLE_RATE, featureDim: 80 },
      modelConfig: {
        moonshine: { encoder: options.files.encoder, mergedDecoder: options.files.mergedDecoder },
        tokens: options.files.tokens,
        numThreads: threads,
        provider: 'cpu',
        debug: 0,
      },
      decodingMethod: 'greedy_search',
    });
    const engine = new MoonshineEngine(recognizer, maxQueue, options.name ?? basename(options.files.encoder, '.ort'));
    await engine.decode(new Float32Array(WHISPER_SAMPLE_RATE));
    options.logger?.info({ model: engine.name, loadMs: Math.round(performance.now() - started), threads }, 'speech-to-text model loaded');
    return engine;
  }

  get ready(): boolean {
    return !this.queue.closed;
  }

  get queued(): number {
    return this.queue.queued;
  }

  get busy(): boolean {
    return this.queue.busy;
  }

  /** Memory of the process the model lives in, bytes. */
  get memoryBytes(): number {
    return process.memoryUsage().rss;
  }

  get estimatedWaitMs(): number {
    return this.queue.estimatedWaitMs;
  }

  supportsLanguage(language: string): boolean {
    return language.toLowerCase() === 'en';
  }

  languageName(code: string): string | undefined {
    return code.toLowerCase() === 'en' ? 'english' : undefined;
  }

  /**
   * Transcribes 16 kHz mono float samples. `prompt` and `temperature` do not apply (greedy decoding, no prompt).
   * Rejects with a TranscriptionError.
   */
  transcribe(samples: Float32Array, options: TranscribeOptions = {}): Promise<Transcription> {
    if (this.queue.closed) return Promise.reject(disposedError());
    if (!(samples instanceof Float32Array)) return Promise.reject(new TranscriptionError('invalid_audio', 'samples must be a Float32Array'));
    if (!this.supportsLanguage(options.language ?? 'en')) {
      return Promise.reject(
        new TranscriptionError('unsupported_language', `language '${options.language}' is not supported: this model transcribes English only`),
      );
    }
    return this.queue.submit(samples.slice(), options.signal);
  }

  /** Refuses new requests, fails those still waiting, and lets the running one finish (at most `graceMs`). */
  dispose(graceMs = 30_000): Promise<void> {
    return this.queue.drain(graceMs);
  }

  private async run(samples: Float32Array): Promise<Transcription> {
    const started = performance.now();
    let text: string;
    try {
      text = await this.decode(samples);
    } catch (err) {
      throw new TranscriptionError('failed', `the speech recognizer failed: ${(err as Error).message}`);
    }
    const audioMs = (samples.length / WHISPER_SAMPLE_RATE) * 1000;
    return { text, durationMs: performance.now() - started, audioMs, language: 'en', segments: text ? [{ text, startMs: 0, endMs: Math.round(audioMs) }] : [] };
  }

  private async decode(samples: Float32Array): Promise<string> {
    const texts: string[] = [];
    for (const segment of segments(samples)) {
      const text = await this.decodeSegment(segment);
      if (text) texts.push(text);
    }
    return texts.join(' ');
  }

  private async decodeSegment(samples: Float32Array): Promise<string> {
    const stream = this.recognizer.createStream();
    stream.acceptWaveform({ samples, sampleRate: WHISPER_SAMPLE_RATE });
    const { text } = await this.recognizer.decodeAsync(stream);
    const limit = Math.ceil((samples.length / WHISPER_SAMPLE_RATE) * MAX_CHARS_PER_SECOND) + 20;
    return text.trim().slice(0, limit).trim();
  }
}

/** `samples` cut into pieces of at most MAX_SEGMENT_SECONDS, each ending at the quietest 20 ms near its end. */
export function segments(samples: Float32Array): Float32Array[] {
  const max = MAX_SEGMENT_SECONDS * WHISPER_SAMPLE_RATE;
  const window = WHISPER_SAMPLE_RATE / 50;
  const out: Float32Array[] = [];
  let start = 0;
  while (samples.length - start > max) {
    let cut = start + max;
    let quietest = Number.POSITIVE_INFINITY;
    for (let at = start + max - window; at >= start + max - SPLIT_SEARCH_SECONDS * WHISPER_SAMPLE_RATE; at -= window / 2) {
      let energy = 0;
      for (let i = at; i < at + window; i++) energy += samples[i]! * samples[i]!;
      if (energy < quietest) {
        quietest = energy;
        cut = at + window / 2;
      }
    }
    out.push(samples.subarray(start, cut));
    start = cut;
  }
  out.push(samples.subarray(start));
  return out;
}
