export interface RestartBackoffOptions {
  /** Restart delay after the 2nd crash within `crashWindowMs`, doubled per further crash (default 100 ms). */
  restartBackoffMs?: number;
  /** Upper bound of the restart delay (default 5000 ms). */
  maxRestartBackoffMs?: number;
  /** Crashes older than this no longer count towards the backoff (default 60 000 ms). */
  crashWindowMs?: number;
}

/**
 * When a crashed process may start again: at once after a first crash, then after an exponential
 * delay per further crash within the window, so a replayed crashing input cannot make us spin.
 */
export class RestartBackoff {
  private crashTimes: number[] = [];
  private restartAt = 0;

  constructor(private readonly options: RestartBackoffOptions = {}) {}

  /** Records a crash; returns the delay before the next start, ms. */
  crashed(now = Date.now()): number {
    const windowMs = this.options.crashWindowMs ?? 60_000;
    this.crashTimes = this.crashTimes.filter((t) => now - t < windowMs);
    this.crashTimes.push(now);
    const n = this.crashTimes.length;
    const restartInMs = n <= 1 ? 0 : Math.min(this.options.maxRestartBackoffMs ?? 5000, (this.options.restartBackoffMs ?? 100) * 2 ** (n - 2));
    this.restartAt = now + restartInMs;
    return restartInMs;
  }

  /** A good answer ends a crash streak. */
  succeeded(): void {
    this.crashTimes = [];
  }

  /** How long until a start is allowed, ms (0 or less: now). */
  waitMs(now = Date.now()): number {
    return this.restartAt - now;
  }
}
