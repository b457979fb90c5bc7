/**
 * The single file in front of a local speech recognizer: jobs run one at a time, in arrival order.
 *
 * While one runs, or while the runner cannot take work (a worker restarting), up to `maxQueue` more wait;
 * beyond that a request is refused at once ('queue_full'). A request whose signal aborts is rejected at once
 * ('aborted'), waiting or running; a running job's result is then dropped. `drain` refuses new requests,
 * fails the waiting ones ('disposed') and waits for the running one, at most a grace period.
 */
import { TranscriptionError } from './transcription-types.js';

export interface SerialQueueOptions<J, R> {
  /** Requests that may wait while one runs; more are refused. */
  maxQueue: number;
  run: (job: J) => Promise<R>;
  /** False while the runner cannot take a job: jobs wait. Default: always true. */
  canRun?: () => boolean;
  /** Expected duration of a job until some are measured, ms (for `estimatedWaitMs`). */
  typicalMs: number;
}

interface Entry<J, R> {
  job: J;
  resolve: (result: R) => void;
  reject: (err: Error) => void;
  settled: boolean;
}

export const disposedError = (): TranscriptionError => new TranscriptionError('disposed', 'the speech recognizer was shut down');
const abortedError = () => new TranscriptionError('aborted', 'the transcription was aborted');

export class SerialQueue<J, R> {
  /** Requests refused because the queue was full. */
  refused = 0;
  readonly #options: SerialQueueOptions<J, R>;
  readonly #waiting: Array<Entry<J, R>> = [];
  #running: Promise<void> | undefined;
  #draining = false;
  /** Moving average of recent job durations, ms. */
  #typicalMs: number;

  constructor(options: SerialQueueOptions<J, R>) {
    this.#options = options;
    this.#typicalMs = options.typicalMs;
  }

  /** Refusing requests (drained). */
  get closed(): boolean {
    return this.#draining;
  }

  /** Requests waiting (not counting the one running). */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Whether a job is running. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** About how long a request arriving now would wait before it starts, ms. */
  get estimatedWaitMs(): number {
    return Math.round((this.#waiting.length + (this.busy ? 1 : 0)) * this.#typicalMs);
  }

  /** Queues a job; rejects with a TranscriptionError (queue_full, aborted, disposed) or as the job's run does. */
  submit(job: J, signal?: AbortSignal): Promise<R> {
    if (this.#draining) return Promise.reject(disposedError());
    if (signal?.aborted) return Promise.reject(abortedError());
    if ((this.busy || !this.#canRun()) && this.#waiting.length >= this.#options.maxQueue) {
      this.refused++;
      return Promise.reject(new TranscriptionError('queue_full', `the speech recognizer is busy (${this.#waiting.length} requests waiting); retry shortly`));
    }
    return new Promise<R>((resolve, reject) => {
      let cleanup = () => {};
      const settle = (then: () => void) => {
        if (entry.settled) return;
        entry.settled = true;
        cleanup();
        then();
      };
      const entry: Entry<J, R> = {
        job,
        settled: false,
        resolve: (result) => settle(() => resolve(result)),
        reject: (err) => settle(() => reject(err)),
      };
      if (signal) {
        const onAbort = () => {
          const at = this.#waiting.indexOf(entry);
          if (at >= 0) this.#waiting.splice(at, 1);
          entry.reject(abortedError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#waiting.push(entry);
      this.pump();
    });
  }

  /** Starts the next job if none is running and the runner can take it (call when `canRun` turns true). */
  pump(): void {
    if (this.#draining || this.#running || !this.#canRun()) return;
    let entry = this.#waiting.shift();
    while (entry?.settled) entry = this.#waiting.shift();
    if (!entry) return;
    const started = performance.now();
    const current = entry;
    this.#running = this.#options
      .run(current.job)
      .then(
        (result) => {
          this.#typicalMs += (performance.now() - started - this.#typicalMs) * 0.3;
          current.resolve(result);
        },
        (err: Error) => current.reject(err),
      )
      .finally(() => {
        this.#running = undefined;
        this.pump();
      });
  }

  /** Fails every waiting request with `err` (the runner could not be started). */
  rejectWaiting(err: Error): void {
    for (const entry of this.#waiting.splice(0)) entry.reject(err);
  }

  /** Refuses new requests, fails the waiting ones ('disposed'), and waits for the running one, at most `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    this.rejectWaiting(disposedError());
    if (!this.#running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  #canRun(): boolean {
    return this.#options.canRun?.() ?? true;
  }
}
