import { type ChildProcess, fork } from 'node:child_process';
import { extname, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../ops/logger.js';
import { RestartBackoff } from '../ops/restart-backoff.js';
import { EXIT_CANNOT_START } from './exit-codes.js';
import { localOrigin, type ServerSettings } from './settings.js';

export type ModelProcessState = 'idle' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface ModelProcessOptions {
  settings: ServerSettings;
  logger: Logger;
  /** Longest a start (load + first health answer) may take. */
  startTimeoutMs: number;
  /** Between health checks while running. */
  healthIntervalMs?: number;
  /** Health checks failing in a row before the process is killed and restarted. */
  healthFailuresToRestart?: number;
  /** Called after each unexpected end of the process (for metrics). */
  onRestart?: () => void;
}

export class ModelStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelStartError';
  }
}

const here = fileURLToPath(import.meta.url);
const ENTRY = join(dirname(here), `server-process${extname(here)}`);
/** The child runs the way we do: TypeScript through tsx's loader, compiled JavaScript as is. */
const EXEC_ARGV = ENTRY.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
const STDERR_TAIL_BYTES = 2048;

/**
 * One local model server in its own process: started and health-checked, restarted with backoff
 * when it dies or stops answering, stopped (drained) on shutdown. A crash in a model runtime costs
 * the requests in flight, never the service.
 */
export class ModelProcess {
  state: ModelProcessState = 'idle';
  restarts = 0;
  /** The last /health answer (memory, counters), for /status. */
  lastHealth: Record<string, unknown> | undefined;
  private child: ChildProcess | undefined;
  private stderrTail = '';
  private healthTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;
  private readonly backoff = new RestartBackoff({ restartBackoffMs: 1000, maxRestartBackoffMs: 30_000 });

  constructor(private readonly options: ModelProcessOptions) {}

  get role(): ServerSettings['role'] {
    return this.options.settings.role;
  }

  get healthUrl(): string {
    const { host, port } = this.options.settings;
    return `${localOrigin(host, port)}/health`;
  }

  get ready(): boolean {
    return this.state === 'running' && this.failuresInARow === 0;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves when the model is loaded and answering; rejects with a ModelStartError saying why not. */
  async start(): Promise<void> {
    this.state = 'starting';
    await this.spawnAndWait();
    this.state = 'running';
    this.scheduleHealthCheck();
  }

  async stop(deadline: number): Promise<void> {
    this.state = 'stopping';
    clearTimeout(this.healthTimer);
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.send({ type: 'stop', deadline });
      else child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 500)));
      await Promise.race([exited, late]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    this.state = 'stopped';
  }

  private spawnAndWait(): Promise<void> {
    const { settings, startTimeoutMs, logger } = this.options;
    this.stderrTail = '';
    const child = fork(ENTRY, [JSON.stringify(settings)], { execArgv: EXEC_ARGV, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      /** Became ready: from then on an exit is a crash to recover from (a failed start is the caller's). */
      let started = false;
      const timer = setTimeout(() => fail(`did not load within ${startTimeoutMs} ms (LOCAL_MODELS_START_TIMEOUT_MS)`), startTimeoutMs);
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new ModelStartError(`local ${settings.role.toUpperCase()} server (${settings.name}) ${why}`));
      };
      child.once('message', () => {
        if (settled) return;
        // Ready by its own account; confirm over HTTP, the way clients will reach it.
        this.checkHealth().then(
          () => {
            if (settled) return;
            settled = true;
            started = true;
            clearTimeout(timer);
            logger.info(
              { model: settings.name, url: `${localOrigin(settings.host, settings.port)}/v1`, pid: child.pid },
              `local ${settings.role.toUpperCase()} ready`,
            );
            resolve();
          },
          (err: Error) => fail(`answers no health check: ${err.message}`),
        );
      });
      child.once('exit', (code, signal) => {
        if (!settled) {
          const reason = this.stderrTail.trim().split('\n').at(-1) ?? '';
          fail(
            code === EXIT_CANNOT_START && reason
              ? `cannot start: ${reason.replace(/^local \w+ server cannot start: /, '')}`
              : `exited while loading (${signal ?? `code ${code}`})`,
          );
          return;
        }
        if (started) this.onUnexpectedExit(child, code, signal);
      });
    });
  }

  private onUnexpectedExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child || this.state === 'stopping' || this.state === 'stopped') return;
    clearTimeout(this.healthTimer);
    this.restarts++;
    this.state = 'restarting';
    this.options.onRestart?.();
    const delay = this.backoff.crashed();
    this.options.logger.error(
      { model: this.options.settings.name, exit_code: code, signal, restart_in_ms: delay, restarts: this.restarts },
      `local ${this.role.toUpperCase()} server stopped unexpectedly; restarting`,
    );
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    if (this.state !== 'restarting') return;
    try {
      await this.spawnAndWait();
      if (this.state !== 'restarting') return;
      this.state = 'running';
      this.failuresInARow = 0;
      this.scheduleHealthCheck();
    } catch (err) {
      if (this.state !== 'restarting') return;
      this.options.logger.error({ err }, (err as Error).message);
      this.onUnexpectedExit(this.child as ChildProcess, null, null);
    }
  }

  private scheduleHealthCheck(): void {
    clearTimeout(this.healthTimer);
    this.healthTimer = setTimeout(() => void this.periodicCheck(), this.options.healthIntervalMs ?? 5000);
    this.healthTimer.unref();
  }

  private async periodicCheck(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.checkHealth();
      this.failuresInARow = 0;
    } catch (err) {
      this.failuresInARow++;
      const limit = this.options.healthFailuresToRestart ?? 3;
      this.options.logger.warn({ err: (err as Error).message, failures: this.failuresInARow }, `local ${this.role.toUpperCase()} server failed a health check`);
      if (this.failuresInARow >= limit) {
        // The exit handler restarts it.
        this.child?.kill('SIGKILL');
        return;
      }
    }
    if (this.state === 'running') this.scheduleHealthCheck();
  }

  private async checkHealth(): Promise<void> {
    const response = await fetch(this.healthUrl, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    this.lastHealth = (await response.json()) as Record<string, unknown>;
  }
}
