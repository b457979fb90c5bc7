export interface SessionClockOptions {
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** True while nothing flows (no text in progress, or paused): only then does idleness count. */
  isIdle(): boolean;
  onIdle(): void;
  onMaxDuration(): void;
}

/**
 * When a session times out: after `idleTimeoutMs` without client messages or audio while idle,
 * and after `maxSessionMs` in any case.
 */
export class SessionClock {
  private lastActivityAt = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: SessionClockOptions) {}

  start(): void {
    this.deadline = setTimeout(() => this.options.onMaxDuration(), this.options.maxSessionMs);
    this.checkIdleIn(this.options.idleTimeoutMs);
  }

  /** Something happened (a message, a frame): the idle period starts again. */
  touch(): void {
    this.lastActivityAt = performance.now();
  }

  /** The session became idle: it times out a full idle period from the last activity. */
  idleFrom(): void {
    this.checkIdleIn(this.options.idleTimeoutMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.deadline);
  }

  private checkIdleIn(delayMs: number): void {
    clearTimeout(this.idleTimer);
    if (this.stopped) return;
    this.idleTimer = setTimeout(
      () => {
        this.idleTimer = undefined;
        if (this.stopped) return;
        const { idleTimeoutMs } = this.options;
        if (!this.options.isIdle()) return this.checkIdleIn(idleTimeoutMs);
        const idleFor = performance.now() - this.lastActivityAt;
        if (idleFor >= idleTimeoutMs - 5) this.options.onIdle();
        else this.checkIdleIn(idleTimeoutMs - idleFor);
      },
      Math.max(10, delayMs),
    );
  }
}
