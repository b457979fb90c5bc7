/**
 * The requests of a WhisperEngine and the worker thread that serves them. One transcription runs at a time; up to
 * `maxQueue` more wait in order, beyond that requests are refused at once (TranscriptionError 'queue_full'). A worker
 * that dies fails the request it was running (never a hang) and is started again for the next ones.
 */
import type { Logger } from '../../ops/logger.js';
import { type Transcription, TranscriptionError } from './transcription-types.js';
import { audioContextFor, fitsOneWindow, type TranscribeAnswer, WHISPER_SAMPLE_RATE, whisperInput } from './whisper-worker-protocol.js';
import type { WhisperWorkerEvents, WhisperWorkerThread } from './whisper-worker-thread.js';

export interface TranscriptionQueueOptions {
  /** Requests that may wait while one is transcribed; more are refused. */
  maxQueue: number;
  /** Encoder context mode (see WhisperEngineOptions.audioContext). */
  audioContext: 'auto' | 'full';
  /** Starts a worker thread reporting to `events`; resolves once its model is loaded. */
  launch: (events: WhisperWorkerEvents) => Promise<WhisperWorkerThread>;
  /** Called with each worker thread that starts serving the queue. */
  onLoaded?: (thread: WhisperWorkerThread) => void;
  logger?: Logger | undefined;
}

/** One request, checked already (language known, temperature in range). */
export interface TranscriptionRequest {
  /** 16 kHz mono float samples; copied, so the caller's array stays usable. */
  samples: Float32Array;
  language: string;
  prompt: string;
  temperature: number;
  signal?: AbortSignal | undefined;
}

export interface TranscriptionQueueStats {
  transcriptions: number;
  failures: number;
  refused: number;
  restarts: number;
}

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

const disposedError = () => new TranscriptionError('disposed', 'the speech recognizer was shut down');
const abortError = () => new TranscriptionError('aborted', 'the transcription was aborted');

export class TranscriptionQueue {
  readonly stats: TranscriptionQueueStats = { transcriptions: 0, failures: 0, refused: 0, restarts: 0 };
  private readonly waiting: Job[] = [];
  private readonly events: WhisperWorkerEvents = {
    onAnswer: (thread, answer) => this.onAnswer(thread, answer),
    onCrash: (thread, reason) => this.onCrash(thread, reason),
  };
  private running: WhisperWorkerThread | undefined;
  /** A worker being started (after a crash); requests queue meanwhile. */
  private starting: Promise<void> | undefined;
  private current: Job | undefined;
  private nextId = 1;
  private isDisposed = false;
  private crashTimes: number[] = [];
  private idleWaiters: Array<() => void> = [];
  /** Moving average of recent transcription times, ms. */
  private typicalMs = 1000;

  constructor(private readonly options: TranscriptionQueueOptions) {}

  /** Starts the first worker; rejects as its start does. */
  start(): Promise<void> {
    return this.startWorker();
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** True while a worker with the model loaded is there (false during a restart and after dispose). */
  get ready(): boolean {
    return this.running !== undefined && this.starting === undefined && !this.isDisposed;
  }

  /** Requests waiting (not counting the one being transcribed). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Whether a transcription is running. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** About how long a request arriving now would wait before its transcription starts, ms. */
  get estimatedWaitMs(): number {
    return Math.round((this.waiting.length + (this.current ? 1 : 0)) * this.typicalMs);
  }

  /** Queues a request; rejects with a TranscriptionError (queue_full, aborted, disposed, worker_failed, failed). */
  submit(request: TranscriptionRequest): Promise<Transcription> {
    if (this.isDisposed) return Promise.reject(disposedError());
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortError());
    const mustWait = this.current !== undefined || !this.ready;
    if (mustWait && this.waiting.length >= this.options.maxQueue) {
      this.stats.refused++;
      return Promise.reject(new TranscriptionError('queue_full', `the speech recognizer is busy (${this.waiting.length} requests waiting); retry shortly`));
    }
    return new Promise<Transcription>((resolve, reject) => {
      const settle = (then: () => void) => {
        if (job.settled) return;
        job.settled = true;
        job.cleanup();
        then();
      };
      const job: Job = {
        id: this.nextId++,
        samples: whisperInput(request.samples),
        audioMs: Math.round((request.samples.length / WHISPER_SAMPLE_RATE) * 1000),
        language: request.language,
        prompt: request.prompt,
        temperature: request.temperature,
        settled: false,
        cleanup: () => {},
        resolve: (t) => settle(() => resolve(t)),
        reject: (err) => settle(() => reject(err)),
      };
      if (signal) {
        const onAbort = () => {
          const at = this.waiting.indexOf(job);
          if (at >= 0) this.waiting.splice(at, 1);
          job.reject(abortError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.push(job);
      this.pump();
    });
  }

  /**
   * Refuses new requests, fails those still waiting (TranscriptionError 'disposed'), lets the running one
   * finish (at most `graceMs`), then stops the worker thread.
   */
  async dispose(graceMs: number): Promise<void> {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const job of this.waiting.splice(0)) job.reject(disposedError());
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
      // a thread inside whisper.cpp ends only when the transcription returns: not waited for past the grace
      const stopped = running.stop();
      if (this.current === undefined) await stopped;
    }
    this.current?.reject(disposedError());
    this.current = undefined;
  }

  private pump(): void {
    if (this.isDisposed) return;
    if (!this.running) {
      // the last start failed: a new request tries again
      if (this.waiting.length > 0) this.restart();
      return;
    }
    if (this.current || this.starting) return;
    let job = this.waiting.shift();
    while (job?.settled) job = this.waiting.shift();
    if (!job) return;
    this.current = job;
    const { samples } = job;
    this.running.send({
      type: 'transcribe',
      id: job.id,
      samples,
      language: job.language,
      prompt: job.prompt,
      temperature: job.temperature,
      audioCtx: audioContextFor(samples.length, this.options.audioContext),
      singleSegment: fitsOneWindow(samples.length),
    });
  }

  private onAnswer(thread: WhisperWorkerThread, answer: TranscribeAnswer): void {
    if (thread !== this.running) return;
    const job = this.current;
    if (!job || job.id !== answer.id) return;
    this.current = undefined;
    if (answer.type === 'result') {
      this.stats.transcriptions++;
      this.crashTimes = [];
      this.typicalMs += (answer.ms - this.typicalMs) * 0.3;
      job.resolve({
        text: answer.text.trim(),
        durationMs: Math.round(answer.ms),
        audioMs: job.audioMs,
        language: job.language,
        segments: answer.segments,
      });
    } else {
      this.stats.failures++;
      job.reject(new TranscriptionError('failed', `transcription failed: ${answer.message}`));
    }
    this.wakeIdleWaiters();
    this.pump();
  }

  /** The worker went away without being asked to (it is being stopped): fail what it was doing and start another one. */
  private onCrash(thread: WhisperWorkerThread, reason: string): void {
    if (thread !== this.running) return;
    this.running = undefined;
    const job = this.current;
    this.current = undefined;
    if (job) {
      this.stats.failures++;
      job.reject(new TranscriptionError('worker_failed', `the speech recognizer stopped during this transcription (${reason}); it is restarting, retry`));
    }
    this.options.logger?.error({ reason, queued: this.waiting.length }, 'speech-to-text worker died; restarting it');
    this.wakeIdleWaiters();
    this.restart();
  }

  /**
   * Starts a new worker, at once after a first crash and after a growing delay (up to 5 s) when crashes
   * repeat within a minute, so a request that kills the worker cannot make it spin. When the start fails,
   * the waiting requests fail with the reason; the next request tries again.
   */
  private restart(): void {
    if (this.starting || this.running || this.isDisposed) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < 60_000);
    this.crashTimes.push(now);
    const delay = this.crashTimes.length <= 1 ? 0 : Math.min(5000, 100 * 2 ** (this.crashTimes.length - 2));
    this.stats.restarts++;
    this.starting = new Promise<void>((resolve) => setTimeout(resolve, delay))
      .then(() => (this.isDisposed ? undefined : this.startWorker()))
      .catch((err: Error) => {
        this.options.logger?.error({ err }, 'speech-to-text worker could not be restarted');
        for (const waiting of this.waiting.splice(0))
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
  private async startWorker(): Promise<void> {
    const thread = await this.options.launch(this.events);
    if (this.isDisposed) {
      void thread.stop();
      return;
    }
    this.running = thread;
    this.options.onLoaded?.(thread);
  }
}
