/**
 * Local speech-to-text: a whisper.cpp ggml model run by @napi-rs/whisper in a worker thread.
 *
 * The binding's `full()` is synchronous (seconds of CPU), so it runs on its own thread and the event loop stays
 * free. One transcription runs at a time; up to `maxQueue` more wait in order, beyond that requests are refused
 * at once (TranscriptionError 'queue_full'). A worker that dies fails the request it was running (never a hang)
 * and is started again for the next ones.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../ops/logger.js';
import { LocalModelFileError, MODELS_SETUP_COMMAND } from '../model-files.js';

/** Whisper's input rate: transcribe() takes mono float samples at this rate. */
export const WHISPER_SAMPLE_RATE = 16_000;
/** Whisper's window: longer audio is decoded in several windows. */
const WINDOW_SECONDS = 30;
/** Encoder positions of one full window (whisper.cpp's n_audio_ctx for every Whisper model). */
const FULL_AUDIO_CTX = 1500;
/**
 * Smallest encoder context used when it is scaled to the clip (`audioContext: 'auto'`), in positions of 20 ms.
 * whisper.cpp pads every clip to 30 s and the encoder's cost grows with its context, so short clips are
 * several times faster with a smaller one; below ~15 s of context tiny.en starts to mishear and repeat
 * itself (measured on Piper and flite speech), so short clips get at least this much.
 */
const MIN_AUDIO_CTX = 768;
/** Context beyond the clip's own length (1.28 s), so speech at the very end is still seen. */
const AUDIO_CTX_MARGIN = 64;
/**
 * whisper.cpp returns nothing for input shorter than 1 s ("input is too short"), which would lose a short "Yes."
 * Shorter clips are padded with silence to this length.
 */
const MIN_INPUT_SAMPLES = Math.round(1.25 * WHISPER_SAMPLE_RATE);

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

export interface TranscribeOptions {
  /** ISO-639-1 code of the spoken language. Default 'en'. */
  language?: string;
  /** Text that came before (names, spelling): whisper's initial prompt. */
  prompt?: string;
  /** Sampling temperature, 0 (default) decodes greedily. */
  temperature?: number;
  /** Aborting rejects at once (TranscriptionError 'aborted'); a transcription already running finishes unseen. */
  signal?: AbortSignal;
}

export interface TranscriptionSegment {
  text: string;
  startMs: number;
  endMs: number;
}

export interface Transcription {
  /** The words heard, trimmed ('' for silence). */
  text: string;
  /** Time spent transcribing (not waiting in the queue), ms. */
  durationMs: number;
  /** Length of the audio, ms. */
  audioMs: number;
  language: string;
  segments: TranscriptionSegment[];
}

export type TranscriptionErrorCode = 'queue_full' | 'worker_failed' | 'failed' | 'aborted' | 'disposed' | 'unsupported_language' | 'invalid_audio';

/** Why a transcription did not happen; `code` says what the caller can do (retry later, fix the request...). */
export class TranscriptionError extends Error {
  constructor(
    readonly code: TranscriptionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TranscriptionError';
  }
}

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

interface Job {
  id: number;
  samples: Float32Array;
  /** Length of the audio (kept: the samples' buffer moves to the worker). */
  audioMs: number;
  language: string;
  prompt: string;
  temperature: number;
  resolve: (t: Transcription) => void;
  reject: (err: Error) => void;
  /** Settled already (aborted while running): the worker's answer is dropped. */
  settled: boolean;
  cleanup: () => void;
}

interface RunningWorker {
  worker: Worker;
  /** Set once the worker is being stopped on purpose: its exit is not a crash. */
  stopping: boolean;
}

export interface WhisperEngineStats {
  transcriptions: number;
  failures: number;
  refused: number;
  restarts: number;
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

/** whisper.cpp's encoder context for a clip of `samples` (0: the full window). */
export function audioContextFor(samples: number, mode: 'auto' | 'full'): number {
  if (mode === 'full' || samples > WINDOW_SECONDS * WHISPER_SAMPLE_RATE) return 0;
  const ctx = Math.ceil((samples / WHISPER_SAMPLE_RATE / WINDOW_SECONDS) * FULL_AUDIO_CTX) + AUDIO_CTX_MARGIN;
  const scaled = Math.max(MIN_AUDIO_CTX, ctx);
  return scaled >= FULL_AUDIO_CTX ? 0 : scaled;
}

/** The worker module next to this one (.ts when run by tsx, .js when compiled). */
function defaultWorkerUrl(): URL {
  return new URL(`./whisper-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

/**
 * A worker thread running the module `entry`. tsx's loader is registered for the main thread only (on Node 20),
 * so a TypeScript entry gets it registered in the worker first.
 */
function spawnWorker(entry: URL, workerData: WorkerInit): Worker {
  const tsx = entry.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;
  const bootstrap = `
const { workerData } = require('node:worker_threads');
const { entry, tsx } = workerData.bootstrap;
(tsx ? import(tsx).then((api) => api.register()) : Promise.resolve()).then(() => import(entry));
`;
  return new Worker(bootstrap, { eval: true, workerData: { ...workerData, bootstrap: { entry: entry.href, tsx } } });
}

export class WhisperEngine {
  readonly name: string;
  readonly stats: WhisperEngineStats = { transcriptions: 0, failures: 0, refused: 0, restarts: 0 };
  private readonly threads: number;
  private readonly maxQueue: number;
  private readonly audioContext: 'auto' | 'full';
  private readonly logger: Logger | undefined;
  private readonly loadTimeoutMs: number;
  private readonly workerUrl: URL;
  private readonly queue: Job[] = [];
  private running: RunningWorker | undefined;
  /** A worker being started (after a crash); requests queue meanwhile. */
  private starting: Promise<void> | undefined;
  private current: Job | undefined;
  private nextId = 1;
  private disposed = false;
  private crashTimes: number[] = [];
  private idleWaiters: Array<() => void> = [];
  /** Language code -> whisper's (English) name of it. */
  private languageNames: ReadonlyMap<string, string> = new Map([['en', 'english']]);
  private isMultilingual = false;
  /** Moving average of recent transcription times, ms. */
  private typicalMs = 1000;

  private constructor(
    readonly modelPath: string,
    options: WhisperEngineOptions,
  ) {
    this.name = options.name ?? basename(modelPath).replace(/\.bin$/i, '');
    this.threads = options.threads ?? 2;
    this.maxQueue = options.maxQueue ?? 4;
    this.audioContext = options.audioContext ?? 'auto';
    this.logger = options.logger;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 60_000;
    this.workerUrl = options.workerUrl ?? defaultWorkerUrl();
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new RangeError(`threads must be a positive integer (got ${options.threads})`);
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer (got ${options.maxQueue})`);
  }

  /**
   * Checks the model file, loads it in a worker thread and runs one warm-up transcription. Rejects with a
   * LocalModelFileError (naming the file and `npm run setup`) when the file is missing or not a usable model.
   */
  static async load(options: WhisperEngineOptions): Promise<WhisperEngine> {
    if (options.workerUrl === undefined) checkWhisperModel(options.modelPath);
    const engine = new WhisperEngine(options.modelPath, options);
    await engine.startWorker();
    return engine;
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
    return this.running !== undefined && this.starting === undefined && !this.disposed;
  }

  /** Requests waiting (not counting the one being transcribed). */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether a transcription is running. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Memory of the process the model lives in (the worker is a thread of it), bytes. */
  get memoryBytes(): number {
    return process.memoryUsage().rss;
  }

  /** About how long a request arriving now would wait before its transcription starts, ms (for Retry-After). */
  get estimatedWaitMs(): number {
    return Math.round((this.queue.length + (this.current ? 1 : 0)) * this.typicalMs);
  }

  supportsLanguage(language: string): boolean {
    return this.languageNames.has(language.toLowerCase());
  }

  /** Transcribes 16 kHz mono float samples (in [-1, 1]; others are clipped). Rejects with a TranscriptionError. */
  transcribe(samples: Float32Array, options: TranscribeOptions = {}): Promise<Transcription> {
    if (this.disposed) return Promise.reject(new TranscriptionError('disposed', 'the speech recognizer was shut down'));
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
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    const mustWait = this.current !== undefined || !this.ready;
    if (mustWait && this.queue.length >= this.maxQueue) {
      this.stats.refused++;
      return Promise.reject(new TranscriptionError('queue_full', `the speech recognizer is busy (${this.queue.length} requests waiting); retry shortly`));
    }
    return new Promise<Transcription>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        // a copy (its buffer moves to the worker, the caller's array stays usable), padded to whisper.cpp's minimum
        samples: padded(samples),
        audioMs: Math.round((samples.length / WHISPER_SAMPLE_RATE) * 1000),
        language,
        prompt: options.prompt ?? '',
        temperature,
        settled: false,
        cleanup: () => {},
        resolve: (t) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          resolve(t);
        },
        reject: (err) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          reject(err);
        },
      };
      if (signal) {
        const onAbort = () => {
          const at = this.queue.indexOf(job);
          if (at >= 0) this.queue.splice(at, 1);
          job.reject(abortError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Refuses new requests, fails those still waiting (TranscriptionError 'disposed'), lets the running one
   * finish (at most `graceMs`), then stops the worker thread.
   */
  async dispose(graceMs = 30_000): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const job of this.queue.splice(0)) job.reject(new TranscriptionError('disposed', 'the speech recognizer was shut down'));
    if (this.current) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.starting;
    const running = this.running;
    this.running = undefined;
    if (running) {
      running.stopping = true;
      // a thread inside whisper.cpp ends only when the transcription returns: not waited for past the grace
      const terminated = running.worker.terminate();
      if (this.current === undefined) await terminated;
    }
    this.current?.reject(new TranscriptionError('disposed', 'the speech recognizer was shut down'));
    this.current = undefined;
  }

  private pump(): void {
    if (this.disposed) return;
    if (!this.running) {
      // the last start failed: a new request tries again
      if (this.queue.length > 0) this.restart();
      return;
    }
    if (this.current || this.starting) return;
    let job = this.queue.shift();
    while (job?.settled) job = this.queue.shift();
    if (!job) return;
    this.current = job;
    const samples = job.samples;
    const singleSegment = samples.length <= WINDOW_SECONDS * WHISPER_SAMPLE_RATE;
    const message: TranscribeMessage = {
      type: 'transcribe',
      id: job.id,
      samples,
      language: job.language,
      prompt: job.prompt,
      temperature: job.temperature,
      audioCtx: audioContextFor(samples.length, this.audioContext),
      singleSegment,
    };
    this.running.worker.postMessage(message, [samples.buffer as ArrayBuffer]);
  }

  private onMessage(running: RunningWorker, msg: FromWorker): void {
    if (running !== this.running || (msg.type !== 'result' && msg.type !== 'failed')) return;
    const job = this.current;
    if (!job || job.id !== msg.id) return;
    this.current = undefined;
    if (msg.type === 'result') {
      this.stats.transcriptions++;
      this.crashTimes = [];
      this.typicalMs += (msg.ms - this.typicalMs) * 0.3;
      job.resolve({
        text: msg.text.trim(),
        durationMs: Math.round(msg.ms),
        audioMs: job.audioMs,
        language: job.language,
        segments: msg.segments,
      });
    } else {
      this.stats.failures++;
      job.reject(new TranscriptionError('failed', `transcription failed: ${msg.message}`));
    }
    this.wakeIdleWaiters();
    this.pump();
  }

  /** The worker went away without being asked to: fail what it was doing and start another one. */
  private onCrash(running: RunningWorker, reason: string): void {
    if (running.stopping || running !== this.running) return;
    running.stopping = true;
    this.running = undefined;
    void running.worker.terminate();
    const job = this.current;
    this.current = undefined;
    if (job) {
      this.stats.failures++;
      job.reject(new TranscriptionError('worker_failed', `the speech recognizer stopped during this transcription (${reason}); it is restarting, retry`));
    }
    this.logger?.error({ reason, queued: this.queue.length }, 'speech-to-text worker died; restarting it');
    this.wakeIdleWaiters();
    this.restart();
  }

  /**
   * Starts a new worker, at once after a first crash and after a growing delay (up to 5 s) when crashes
   * repeat within a minute, so a request that kills the worker cannot make it spin. When the start fails,
   * the waiting requests fail with the reason; the next request tries again.
   */
  private restart(): void {
    if (this.starting || this.running || this.disposed) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < 60_000);
    this.crashTimes.push(now);
    const delay = this.crashTimes.length <= 1 ? 0 : Math.min(5000, 100 * 2 ** (this.crashTimes.length - 2));
    this.stats.restarts++;
    this.starting = new Promise<void>((resolve) => setTimeout(resolve, delay))
      .then(() => (this.disposed ? undefined : this.startWorker()))
      .catch((err: Error) => {
        this.logger?.error({ err }, 'speech-to-text worker could not be restarted');
        for (const waiting of this.queue.splice(0))
          waiting.reject(new TranscriptionError('worker_failed', `the speech recognizer could not restart: ${err.message}`));
      })
      .finally(() => {
        this.starting = undefined;
        this.pump();
      });
  }

  private wakeIdleWaiters(): void {
    if (this.current === undefined) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Starts a worker and waits until its model is loaded and warmed up; then it serves the queue. */
  private startWorker(): Promise<void> {
    const init: WorkerInit = {
      modelPath: this.modelPath,
      threads: this.threads,
      warmUpAudioCtx: audioContextFor(WHISPER_SAMPLE_RATE, this.audioContext),
    };
    const worker = spawnWorker(this.workerUrl, init);
    const running: RunningWorker = { worker, stopping: false };
    const file = basename(this.modelPath);
    return new Promise<void>((resolve, reject) => {
      let loaded = false;
      const fail = (err: Error) => {
        clearTimeout(timer);
        running.stopping = true;
        void worker.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`the speech-to-text model ${file} did not load within ${this.loadTimeoutMs} ms`)), this.loadTimeoutMs);
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready' && !loaded) {
          loaded = true;
          clearTimeout(timer);
          if (this.disposed) {
            running.stopping = true;
            void worker.terminate();
            resolve();
            return;
          }
          this.isMultilingual = msg.multilingual;
          this.languageNames = new Map(msg.languages.map((l) => [l.code, l.name]));
          this.running = running;
          this.logger?.info({ model: this.name, loadMs: Math.round(msg.loadMs), threads: this.threads }, 'speech-to-text model loaded');
          resolve();
          return;
        }
        if (msg.type === 'load-failed') {
          fail(
            new LocalModelFileError(
              `the speech-to-text model ${file} could not be loaded (${msg.message}); delete it and run \`${MODELS_SETUP_COMMAND}\` to install it again`,
            ),
          );
          return;
        }
        this.onMessage(running, msg);
      });
      worker.on('error', (err) => {
        if (loaded) this.onCrash(running, err.message);
        else fail(new Error(`the speech-to-text worker failed while loading ${file}: ${err.message}`));
      });
      worker.on('exit', (code) => {
        if (loaded) this.onCrash(running, `exit code ${code}`);
        else if (!running.stopping) fail(new Error(`the speech-to-text worker stopped while loading ${file} (exit code ${code})`));
      });
    });
  }
}

/** A copy for the worker: at least whisper.cpp's minimum length (silence after the audio), NaN and ±Infinity as 0, within [-1, 1]. */
function padded(samples: Float32Array): Float32Array {
  const copy = new Float32Array(Math.max(samples.length, MIN_INPUT_SAMPLES));
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    copy[i] = v > 1 ? 1 : v < -1 ? -1 : Number.isNaN(v) ? 0 : v;
  }
  return copy;
}

function abortError(): TranscriptionError {
  return new TranscriptionError('aborted', 'the transcription was aborted');
}
