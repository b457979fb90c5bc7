import type { ChildProcess } from 'node:child_process';
import { PhonemizerCrashedError, PhonemizerError, PhonemizerTimeoutError } from './errors.js';
import type { EspeakOptions } from './espeak.js';
import { defaultPhonemizerModule, forkPhonemizer } from './phonemizer-spawn.js';
import { RestartBackoff, type RestartBackoffOptions } from '../ops/restart-backoff.js';

/**
 * espeak-ng in a supervised child process (phonemizer-child.ts). The library is native code with
 * known crashes on hostile text (an abort or a segfault takes the whole process down), so it does
 * not run in the service: a crash costs the one request in flight, which rejects with
 * PhonemizerCrashedError, and the process is started again for the next request. Requests run one
 * at a time in arrival order, each bounded by a timeout (the process is killed and restarted when
 * it hangs). Consecutive crashes delay the restart (exponential backoff within a window) so a
 * client replaying a crashing text cannot make us spin on process start-ups.
 */

export interface EspeakSentence {
  /** The sentence's source text. */
  text: string;
  /** IPA phonemes as Piper feeds them (clause punctuation kept). */
  phonemes: string;
}

/** IPC messages (phonemizer-child.ts is the other side). */
export interface PhonemizerRequest {
  type: 'phonemize';
  id: number;
  text: string;
  voice: string;
}
export type PhonemizerReply = { type: 'ready' } | { type: 'result'; id: number; sentences: EspeakSentence[] } | { type: 'error'; id: number; message: string };

export interface PhonemizerCrashInfo {
  signal: string | null;
  exitCode: number | null;
  /** What was going on: a request in flight, a timeout, start-up, or nothing (idle). */
  during: 'request' | 'timeout' | 'start' | 'idle';
  /** Delay before the next start (backoff), ms. */
  restartInMs: number;
}

export interface PhonemizerProcessOptions extends EspeakOptions, RestartBackoffOptions {
  /** Longest one request may take once sent to the process (default 10 000 ms). */
  timeoutMs?: number;
  /** Longest the process may take to start (default 20 000 ms). */
  startTimeoutMs?: number;
  /** The child module (tests); default phonemizer-child next to this file. */
  module?: string;
  /** Called when the process ends unexpectedly (for logging). */
  onCrash?: (info: PhonemizerCrashInfo) => void;
}

interface Job {
  text: string;
  voice: string;
  signal: AbortSignal | undefined;
  resolve: (sentences: EspeakSentence[]) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  cleanup: () => void;
}

interface InFlight {
  id: number;
  job: Job;
  timer: NodeJS.Timeout;
  timedOut: boolean;
}

interface Child {
  process: ChildProcess;
  ready: boolean;
  startTimer: NodeJS.Timeout | undefined;
}

export class PhonemizerProcess {
  private readonly queue: Job[] = [];
  private child: Child | undefined;
  private inFlight: InFlight | undefined;
  private nextId = 1;
  private closed = false;
  private readonly backoff: RestartBackoff;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly module: string;
  /** Processes started so far (the first start included). */
  starts = 0;
  /** Unexpected process ends so far. */
  crashes = 0;

  constructor(private readonly options: PhonemizerProcessOptions = {}) {
    this.module = options.module ?? defaultPhonemizerModule();
    this.backoff = new RestartBackoff(options);
  }

  /** The current process id (tests, diagnostics). */
  get pid(): number | undefined {
    return this.child?.process.pid;
  }

  /** Starts the process ahead of the first request (optional); resolves once it is ready. */
  async start(): Promise<void> {
    if (this.closed) throw new PhonemizerError('the phonemizer was closed');
    this.spawnIfNeeded();
    const child = this.child;
    if (!child || child.ready) return;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      child.process.once('message', done);
      child.process.once('exit', done);
    });
  }

  /** Sentences of `text` with espeak voice `voice`; rejects with a PhonemizerError subclass or the signal's reason. */
  phonemize(text: string, voice: string, signal?: AbortSignal): Promise<EspeakSentence[]> {
    if (this.closed) return Promise.reject(new PhonemizerError('the phonemizer was closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<EspeakSentence[]>((resolve, reject) => {
      const job: Job = {
        text,
        voice,
        signal,
        settled: false,
        cleanup: () => undefined,
        resolve: (v) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          resolve(v);
        },
        reject: (e) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          reject(e);
        },
      };
      if (signal) {
        const onAbort = () => {
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          // a request already sent keeps the process busy; its answer is dropped when it comes
          job.reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Rejects waiting requests and stops the process. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    const err = new PhonemizerError('the phonemizer was closed');
    for (const job of this.queue.splice(0)) job.reject(err);
    if (this.inFlight) {
      clearTimeout(this.inFlight.timer);
      this.inFlight.job.reject(err);
      this.inFlight = undefined;
    }
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    clearTimeout(child.startTimer);
    const proc = child.process;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    proc.disconnect?.();
    proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((res) => (timer = setTimeout(res, 2000)))]);
    clearTimeout(timer);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  private pump(): void {
    if (this.closed || this.inFlight) return;
    while (this.queue.length > 0 && this.queue[0]!.settled) this.queue.shift();
    if (this.queue.length === 0) {
      this.setRef(false);
      return;
    }
    this.spawnIfNeeded();
    const child = this.child;
    if (!child?.ready) return; // pumped again on 'ready' (or after the backoff)
    const job = this.queue.shift()!;
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const inFlight: InFlight = {
      id,
      job,
      timedOut: false,
      timer: setTimeout(() => {
        inFlight.timedOut = true;
        job.reject(new PhonemizerTimeoutError(`espeak-ng did not answer within ${timeoutMs} ms; the phonemizer process is restarted`));
        child.process.kill('SIGKILL');
      }, timeoutMs),
    };
    this.inFlight = inFlight;
    this.setRef(true);
    const request: PhonemizerRequest = { type: 'phonemize', id, text: job.text, voice: job.voice };
    child.process.send(request, (err) => {
      if (err && this.inFlight === inFlight) {
        // the channel broke: the exit handler fails the request; make sure the process does go
        child.process.kill('SIGKILL');
      }
    });
  }

  private spawnIfNeeded(): void {
    if (this.child || this.closed) return;
    const wait = this.backoff.waitMs();
    if (wait > 0) {
      this.restartTimer ??= setTimeout(() => {
        this.restartTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.starts++;
    const proc = forkPhonemizer(this.module, this.options);
    const child: Child = { process: proc, ready: false, startTimer: undefined };
    this.child = child;
    const startTimeoutMs = this.options.startTimeoutMs ?? 20_000;
    child.startTimer = setTimeout(() => {
      if (!child.ready) proc.kill('SIGKILL');
    }, startTimeoutMs);
    proc.on('message', (msg: PhonemizerReply) => this.onMessage(child, msg));
    proc.on('exit', (code, signal) => this.onExit(child, code, signal));
    proc.on('error', () => {
      // spawn/kill/send failures: 'exit' follows when the process existed; make sure it goes
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) proc.kill('SIGKILL');
      else if (proc.pid === undefined) this.onExit(child, null, null);
    });
    this.setRef(true);
  }

  private onMessage(child: Child, msg: PhonemizerReply): void {
    if (child !== this.child) return;
    if (msg.type === 'ready') {
      child.ready = true;
      clearTimeout(child.startTimer);
      this.pump();
      return;
    }
    const current = this.inFlight;
    if (!current || msg.id !== current.id) return;
    clearTimeout(current.timer);
    this.inFlight = undefined;
    this.backoff.succeeded();
    if (msg.type === 'result') current.job.resolve(msg.sentences);
    else current.job.reject(new PhonemizerError(msg.message));
    this.pump();
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    clearTimeout(child.startTimer);
    if (this.closed) return;
    const current = this.inFlight;
    this.inFlight = undefined;
    this.crashes++;
    const restartInMs = this.backoff.crashed();
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    let during: PhonemizerCrashInfo['during'] = 'idle';
    if (current) {
      clearTimeout(current.timer);
      during = current.timedOut ? 'timeout' : 'request';
      current.job.reject(
        new PhonemizerCrashedError(`espeak-ng crashed on this text (phonemizer process ended with ${how}); it is restarted for the next request`, signal, code),
      );
    } else if (!child.ready) {
      during = 'start';
      // every waiting request would meet the same fate: fail them now instead of one per backoff
      const err = new PhonemizerCrashedError(`the phonemizer process could not start (${how})`, signal, code);
      for (const job of this.queue.splice(0)) job.reject(err);
    }
    this.options.onCrash?.({ signal, exitCode: code, during, restartInMs });
    this.pump();
  }

  /** The process (and its IPC channel) keeps the event loop alive only while there is work. */
  private setRef(busy: boolean): void {
    const proc = this.child?.process;
    if (!proc) return;
    if (busy) {
      proc.ref();
      proc.channel?.ref();
    } else {
      proc.unref();
      proc.channel?.unref();
    }
  }
}
