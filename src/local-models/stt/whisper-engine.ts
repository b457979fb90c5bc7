/**
 * Local speech-to-text: a whisper.cpp ggml model run by @napi-rs/whisper in a worker thread.
 *
 * The binding's `full()` is synchronous (seconds of CPU), so it runs on its own thread (whisper-worker-thread.ts)
 * and the event loop stays free. Requests wait their turn in a TranscriptionQueue (transcription-queue.ts), which
 * refuses those beyond `maxQueue` and restarts a worker that dies.
 */
import { basename } from 'node:path';
import type { Logger } from '../../ops/logger.js';
import { TranscriptionQueue, type TranscriptionQueueStats } from './transcription-queue.js';
import { type TranscribeOptions, type Transcription, TranscriptionError } from './transcription-types.js';
import { audioContextFor, checkWhisperModel, WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';
import { startWhisperWorker, type WhisperWorkerThread } from './whisper-worker-thread.js';

export type { TranscribeOptions, Transcription, TranscriptionErrorCode, TranscriptionSegment } from './transcription-types.js';
export { TranscriptionError } from './transcription-types.js';
export type { FromWorker, TranscribeMessage, WorkerInit } from './whisper-worker-protocol.js';
export { audioContextFor, checkWhisperModel, WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';

export interface WhisperEngineOptions {
  /** The ggml model file (checked here: exists, whisper.cpp's magic bytes). */
  modelPath: string;
  /** Model id reported to clients. Default: the file name without `.bin`. */
  name?: string;
  /** CPU threads whisper.cpp uses. Default 2. */
  threads?: number;
  /** Requests that may wait while one is transcribed; more are refused. Default 4. */
  maxQueue?: number;
  /**
   * Encoder context: 'auto' scales it to clips shorter than 30 s (2-5x faster on short utterances, same
   * accuracy on the benchmark); 'full' always encodes the whole 30 s window (whisper.cpp's default). Default 'auto'.
   */
  audioContext?: 'auto' | 'full';
  logger?: Logger;
  /** How long the worker may take to load the model, ms. Default 60 000. */
  loadTimeoutMs?: number;
  /** For tests: another worker module speaking the same protocol (WorkerInit in, FromWorker out). */
  workerUrl?: URL;
}

export type WhisperEngineStats = TranscriptionQueueStats;

export class WhisperEngine {
  readonly name: string;
  private readonly threads: number;
  private readonly queue: TranscriptionQueue;
  /** Language code -> whisper's (English) name of it. */
  private languageNames: ReadonlyMap<string, string> = new Map([['en', 'english']]);
  private isMultilingual = false;

  private constructor(
    readonly modelPath: string,
    options: WhisperEngineOptions,
  ) {
    this.name = options.name ?? basename(modelPath).replace(/\.bin$/i, '');
    this.threads = options.threads ?? 2;
    const maxQueue = options.maxQueue ?? 4;
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new RangeError(`threads must be a positive integer (got ${options.threads})`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer (got ${options.maxQueue})`);
    const audioContext = options.audioContext ?? 'auto';
    const logger = options.logger;
    const start = {
      init: { modelPath, threads: this.threads, warmUpAudioCtx: audioContextFor(WHISPER_SAMPLE_RATE, audioContext) },
      loadTimeoutMs: options.loadTimeoutMs ?? 60_000,
      ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    };
    this.queue = new TranscriptionQueue({
      maxQueue,
      audioContext,
      logger,
      launch: (events) => startWhisperWorker(start, events),
      onLoaded: (thread) => this.onLoaded(thread, logger),
    });
  }

  /**
   * Checks the model file, loads it in a worker thread and runs one warm-up transcription. Rejects with a
   * LocalModelFileError (naming the file and `npm run setup`) when the file is missing or not a usable model.
   */
  static async load(options: WhisperEngineOptions): Promise<WhisperEngine> {
    if (options.workerUrl === undefined) checkWhisperModel(options.modelPath);
    const engine = new WhisperEngine(options.modelPath, options);
    await engine.queue.start();
    return engine;
  }

  /** Transcriptions, failures, refused requests and worker restarts so far. */
  get stats(): WhisperEngineStats {
    return this.queue.stats;
  }

  /** Whether the model understands more than English. */
  get multilingual(): boolean {
    return this.isMultilingual;
  }

  /** ISO-639-1 codes the model transcribes (['en'] for the .en models). */
  get languages(): readonly string[] {
    return [...this.languageNames.keys()];
  }

  /** Whisper's name of a language it knows ('en' -> 'english'), as OpenAI's verbose_json reports it. */
  languageName(code: string): string | undefined {
    return this.languageNames.get(code.toLowerCase());
  }

  /** True while a worker with the model loaded is there (false during a restart and after dispose). */
  get ready(): boolean {
    return this.queue.ready;
  }

  /** Requests waiting (not counting the one being transcribed). */
  get queued(): number {
    return this.queue.queued;
  }

  /** Whether a transcription is running. */
  get busy(): boolean {
    return this.queue.busy;
  }

  /** Memory of the process the model lives in (the worker is a thread of it), bytes. */
  get memoryBytes(): number {
    return process.memoryUsage().rss;
  }

  /** About how long a request arriving now would wait before its transcription starts, ms (for Retry-After). */
  get estimatedWaitMs(): number {
    return this.queue.estimatedWaitMs;
  }

  supportsLanguage(language: string): boolean {
    return this.languageNames.has(language.toLowerCase());
  }

  /** Transcribes 16 kHz mono float samples (in [-1, 1]; others are clipped). Rejects with a TranscriptionError. */
  transcribe(samples: Float32Array, options: TranscribeOptions = {}): Promise<Transcription> {
    if (this.queue.disposed) return Promise.reject(new TranscriptionError('disposed', 'the speech recognizer was shut down'));
    if (!(samples instanceof Float32Array)) return Promise.reject(new TranscriptionError('invalid_audio', 'samples must be a Float32Array'));
    const language = (options.language ?? 'en').toLowerCase();
    if (!this.languageNames.has(language)) {
      const which = this.isMultilingual ? 'is not a language it knows' : 'is not supported: this model transcribes English only';
      return Promise.reject(new TranscriptionError('unsupported_language', `language '${options.language}' ${which}`));
    }
    const temperature = options.temperature ?? 0;
    if (!Number.isFinite(temperature) || temperature < 0 || temperature > 1) {
      return Promise.reject(new TranscriptionError('invalid_audio', `temperature must be between 0 and 1 (got ${options.temperature})`));
    }
    return this.queue.submit({ samples, language, prompt: options.prompt ?? '', temperature, signal: options.signal });
  }

  /**
   * Refuses new requests, fails those still waiting (TranscriptionError 'disposed'), lets the running one
   * finish (at most `graceMs`), then stops the worker thread.
   */
  dispose(graceMs = 30_000): Promise<void> {
    return this.queue.dispose(graceMs);
  }

  private onLoaded(thread: WhisperWorkerThread, logger: Logger | undefined): void {
    this.isMultilingual = thread.multilingual;
    this.languageNames = new Map(thread.languages.map((l) => [l.code, l.name]));
    logger?.info({ model: this.name, loadMs: Math.round(thread.loadMs), threads: this.threads }, 'speech-to-text model loaded');
  }
}
