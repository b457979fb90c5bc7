/**
 * Shares the CPU between sessions: at most `concurrency` sentences are synthesized at once, and a
 * waiting first sentence (someone is waiting for first audio) goes before later sentences.
 */
export class SynthesisScheduler {
  private running = 0;
  private readonly waiting: { urgent: Waiter[]; later: Waiter[] } = { urgent: [], later: [] };

  constructor(readonly concurrency: number) {}

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(urgent: boolean, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const list = urgent ? this.waiting.urgent : this.waiting.later;
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = list.indexOf(waiter);
        if (index >= 0) list.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      list.push(waiter);
    });
  }

  get queued(): number {
    return this.waiting.urgent.length + this.waiting.later.length;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.urgent.shift() ?? this.waiting.later.shift();
      if (next) next.grant();
      else this.running--;
    };
  }
}

interface Waiter {
  grant(): void;
}
