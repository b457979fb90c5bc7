/**
 * The requests of a WhisperEngine and the worker thread that serves them, in a SerialQueue (one transcription at a
 * time, up to `maxQueue` waiting, 'queue_full' beyond). A worker that dies fails the request it was running (never a
 * hang) and is started again for the next ones.
 */
import type { Logger } from '../../ops/logger.js';
import { disposedError, SerialQueue } from './serial-queue.js';
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
  /** 16 kHz mono float samples, copied when the transcription starts (the caller's array stays usable; leave it unchanged until then). */
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
  /** The caller's samples, copied for the worker when the job runs (the copy's buffer moves to the worker). */
  samples: Float32Array;
  /** Length of the audio. */
  audioMs: number;
  language: string;
  prompt: string;
  temperature: number;
}

/** The job the worker is transcribing, and how to settle it. */
interface Current {
  job: Job;
  resolve: (t: Transcription) => void;
  reject: (err: Error) => void;
}

export class TranscriptionQueue {
  private readonly counts = { transcriptions: 0, failures: 0, restarts: 0 };
  private readonly queue: SerialQueue<Job, Transcription>;
  private readonly events: WhisperWorkerEvents = {
    onAnswer: (thread, answer) => this.onAnswer(thread, answer),
    onCrash: (thread, reason) => this.onCrash(thread, reason),
  };
  private running: WhisperWorkerThread | undefined;
  /** A worker being started (after a crash); requests queue meanwhile. */
  private starting: Promise<void> | undefined;
  private current: Current | undefined;
  private nextId = 1;
  private crashTimes: number[] = [];

  constructor(private readonly options: TranscriptionQueueOptions) {
    this.queue = new SerialQueue({ maxQueue: options.maxQueue, run: (job) => this.transcribe(job), canRun: () => this.ready, typicalMs: 1000 });
  }

  /** Starts the first worker; rejects as its start does. */
  start(): Promise<void> {
    return this.startWorker();
  }

  get stats(): TranscriptionQueueStats {
    return { ...this.counts, refused: this.queue.refused };
  }

  get disposed(): boolean {
    return this.queue.closed;
  }

  /** True while a worker with the model loaded is there (false during a restart and after dispose). */
  get ready(): boolean {
    return this.running !== undefined && this.starting === undefined && !this.queue.closed;
  }

  /** Requests waiting (not counting the one being transcribed). */
  get queued(): number {
    return this.queue.queued;
  }

  /** Whether a transcription is running. */
  get busy(): boolean {
    return this.queue.busy;
  }

  /** About how long a request arriving now would wait before its transcription starts, ms. */
  get estimatedWaitMs(): number {
    return this.queue.estimatedWaitMs;
  }

  /** Queues a request; rejects with a TranscriptionError (queue_full, aborted, disposed, worker_failed, failed). */
  submit(request: TranscriptionRequest): Promise<Transcription> {
    const job: Job = {
      id: this.nextId++,
      samples: request.samples,
      audioMs: Math.round((request.samples.length / WHISPER_SAMPLE_RATE) * 1000),
      language: request.language,
      prompt: request.prompt,
      temperature: request.temperature,
    };
    const answer = this.queue.submit(job, request.signal);
    // the last start failed: a new request tries again
    if (!this.running && !this.queue.closed) this.restart();
    return answer;
  }

  /**
   * Refuses new requests, fails those still waiting (TranscriptionError 'disposed'), lets the running one
   * finish (at most `graceMs`), then stops the worker thread.
   */
  async dispose(graceMs: number): Promise<void> {
    if (this.queue.closed) return;
    await this.queue.drain(graceMs);
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

  /** Runs one job on the worker (the queue calls it only while `ready`); settled by its answer or the worker's crash. */
  private transcribe(job: Job): Promise<Transcription> {
    return new Promise<Transcription>((resolve, reject) => {
      this.current = { job, resolve, reject };
      // copied here rather than on arrival, so a refused request costs no copy
      const samples = whisperInput(job.samples);
      this.running!.send({
        type: 'transcribe',
        id: job.id,
        samples,
        language: job.language,
        prompt: job.prompt,
        temperature: job.temperature,
        audioCtx: audioContextFor(samples.length, this.options.audioContext),
        singleSegment: fitsOneWindow(samples.length),
      });
    });
  }

  private onAnswer(thread: WhisperWorkerThread, answer: TranscribeAnswer): void {
    if (thread !== this.running) return;
    const current = this.current;
    if (!current || current.job.id !== answer.id) return;
    this.current = undefined;
    if (answer.type === 'result') {
      this.counts.transcriptions++;
      this.crashTimes = [];
      current.resolve({
        text: answer.text.trim(),
        durationMs: Math.round(answer.ms),
        audioMs: current.job.audioMs,
        language: current.job.language,
        segments: answer.segments,
      });
    } else {
      this.counts.failures++;
      current.reject(new TranscriptionError('failed', `transcription failed: ${answer.message}`));
    }
  }

  /** The worker went away without being asked to (it is being stopped): fail what it was doing and start another one. */
  private onCrash(thread: WhisperWorkerThread, reason: string): void {
    if (thread !== this.running) return;
    this.running = undefined;
    const current = this.current;
    this.current = undefined;
    if (current) {
      this.counts.failures++;
      current.reject(new TranscriptionError('worker_failed', `the speech recognizer stopped during this transcription (${reason}); it is restarting, retry`));
    }
    this.options.logger?.error({ reason, queued: this.queue.queued }, 'speech-to-text worker died; restarting it');
    this.restart();
  }

  /**
   * Starts a new worker, at once after a first crash and after a growing delay (up to 5 s) when crashes
   * repeat within a minute, so a request that kills the worker cannot make it spin. When the start fails,
   * the waiting requests fail with the reason; the next request tries again.
   */
  private restart(): void {
    if (this.starting || this.running || this.queue.closed) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < 60_000);
    this.crashTimes.push(now);
    const delay = this.crashTimes.length <= 1 ? 0 : Math.min(5000, 100 * 2 ** (this.crashTimes.length - 2));
    this.counts.restarts++;
    this.starting = new Promise<void>((resolve) => setTimeout(resolve, delay))
      .then(() => (this.queue.closed ? undefined : this.startWorker()))
      .catch((err: Error) => {
        this.options.logger?.error({ err }, 'speech-to-text worker could not be restarted');
        this.queue.rejectWaiting(new TranscriptionError('worker_failed', `the speech recognizer could not restart: ${err.message}`));
      })
      .finally(() => {
        this.starting = undefined;
        this.queue.pump();
      });
  }

  /** Starts a worker and waits until its model is loaded and warmed up; then it serves the queue. */
  private async startWorker(): Promise<void> {
    const thread = await this.options.launch(this.events);
    if (this.queue.closed) {
      void thread.stop();
      return;
    }
    this.running = thread;
    this.options.onLoaded?.(thread);
  }
}
