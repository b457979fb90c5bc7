import { spawn, type ChildProcess } from 'node:child_process';

/** Peers still running: killed if the test process exits without stopping them (no orphans). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackUntilExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export interface PeerProcessOptions {
  /** Short name used in error messages ("livekit-server", "stt-server"...). */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Lines of output kept for error messages. */
  keepLines?: number;
  /** Called with every whole line of stdout (e.g. to read the JSON log). */
  onStdoutLine?: (line: string) => void;
}

/**
 * A child process run as a test peer: output kept in a small ring buffer (shown when it fails),
 * `exited` resolves when it ends, `stop()` sends SIGTERM then SIGKILL after a grace period.
 */
export class PeerProcess {
  readonly name: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly keepLines: number;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(options: PeerProcessOptions) {
    this.name = options.name;
    this.keepLines = options.keepLines ?? 60;
    this.child = spawn(options.command, [...options.args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackUntilExit(this.child);
    let partial = '';
    const onLine = options.onStdoutLine;
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.keep(d);
      if (!onLine) return;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) onLine(line);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => this.keep(d));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.keep(`spawn error: ${error.message}\n`);
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines the process printed (stdout and stderr mixed). */
  output(): string {
    return this.lines.join('\n');
  }

  /** Error describing why the peer is not usable, with its last output. */
  failure(reason: string): Error {
    const exit = this.exitInfo ? ` (exited code=${this.exitInfo.code} signal=${this.exitInfo.signal})` : '';
    return new Error(`${this.name}: ${reason}${exit}\n--- last output ---\n${this.output()}`);
  }

  /** Sends a signal now (no-op once exited). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves true if the process exits within `ms`. */
  async exitsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Sends `signal` (default SIGTERM), then SIGKILL if still running after `graceMs`; resolves once it exited. */
  async stop(graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private keep(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.length === 0) continue;
      this.lines.push(line);
      if (this.lines.length > this.keepLines) this.lines.shift();
    }
  }
}

/**
 * Polls `probe` until it returns true; fails early if the process exits, or after `timeoutMs`.
 */
export async function waitUntilReady(proc: PeerProcess, probe: () => Promise<boolean>, timeoutMs: number, what = 'ready'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw proc.failure(`exited before it was ${what}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw proc.failure(`not ${what} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET `url` and report whether it answered with a 2xx status. */
export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.ok;
}
