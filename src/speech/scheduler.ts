/**
 * Shares the engine between sessions: at most `concurrency` sentences are synthesized at once and
 * the waiting sentence with the earliest deadline goes next. A text's first sentence is due at
 * once (someone is waiting for first audio); a later sentence is due when the audio already sent
 * for its text runs out, so it yields to new texts without ever starving.
 */
export class SynthesisScheduler {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly concurrency: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Resolves with a release function once a slot is free; rejects if `signal` aborts first.
   * `slackMs`: how long this sentence can wait before its listener hears a gap (0 = now).
   */
  acquire(slackMs: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        due: this.now() + Math.max(0, slackMs),
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // keep the list ordered by deadline; equal deadlines stay first come, first served
      let at = this.waiting.length;
      while (at > 0 && (this.waiting[at - 1] as Waiter).due > waiter.due) at--;
      this.waiting.splice(at, 0, waiter);
      this.pump();
    });
  }

  get queued(): number {
    return this.waiting.length;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      this.running++;
      (this.waiting.shift() as Waiter).grant();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.pump();
    };
  }
}

interface Waiter {
  due: number;
  grant(): void;
}
