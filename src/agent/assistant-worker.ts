/**
 * One assistant's LiveKit worker: registered under the assistant's name (explicit dispatch), its
 * load the share of its session slots in use, its registration watched through the framework's
 * own health server (the framework says nothing when its connection drops).
 */
import { AgentServer, ServerOptions } from '@livekit/agents';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { probeWorkerHealth } from './worker-health.js';

const HEALTH_POLL_MS = 1000;
/** A fresh job process loads Silero; a loaded 2-core machine may need more than the 10 s default. */
const INITIALIZE_PROCESS_TIMEOUT_MS = 60_000;

export interface AssistantWorkerOptions {
  name: string;
  /** The job entry file (./job.ts). */
  agentFile: string;
  config: Config;
  logger: Logger;
  healthPort: number;
  /** Read at each job request: a reload may change it. */
  maxSessions: () => number;
  onJobAccepted: (room: string | undefined) => void;
}

export class AssistantWorker {
  readonly name: string;
  readonly healthPort: number;
  registered = false;
  registrations = 0;
  sessionsTotal = 0;
  lastProblem = 'not started';
  /** Removed from the file: takes no more rooms, its conversations finish. */
  draining = false;
  private readonly worker: AgentServer;
  private running: Promise<void> | undefined;
  private everRegistered = false;
  private lastRegisteredAt = 0;
  private failedProbes = 0;
  private probing = false;
  private poller: NodeJS.Timeout | undefined;
  private stopping = false;
  readonly firstRegistration: Promise<void>;

  constructor(private readonly options: AssistantWorkerOptions) {
    this.name = options.name;
    this.healthPort = options.healthPort;
    const { config } = options;
    this.worker = new AgentServer(
      new ServerOptions({
        agent: options.agentFile,
        agentName: options.name,
        wsURL: config.LIVEKIT_URL,
        apiKey: config.LIVEKIT_API_KEY,
        apiSecret: config.LIVEKIT_API_SECRET,
        host: config.HEALTH_HOST,
        port: options.healthPort,
        numIdleProcesses: config.AGENT_IDLE_PROCESSES,
        initializeProcessTimeout: INITIALIZE_PROCESS_TIMEOUT_MS,
        shutdownProcessTimeout: Math.max(1000, config.SHUTDOWN_TIMEOUT_MS),
        // Never give up reconnecting: a LiveKit server restart must not end the worker.
        maxRetry: Number.MAX_SAFE_INTEGER,
        logLevel: config.LOG_LEVEL === 'silent' ? 'fatal' : config.LOG_LEVEL,
        // The default load is the machine's CPU use: on a busy host it reaches 1, and LiveKit then
        // sends no job at all ("no servers available"). Load here is the share of session slots in use.
        loadFunc: async () => (this.draining ? 1 : Math.min(1, this.activeSessions() / options.maxSessions())),
        loadThreshold: 1,
        requestFunc: async (request) => {
          if (this.draining) {
            await request.reject();
            return;
          }
          await request.accept();
          this.sessionsTotal += 1;
          options.onJobAccepted(request.room?.name);
          options.logger.info({ room: request.room?.name, job: request.id, assistant: options.name }, 'agent job accepted');
        },
      }),
    );
    this.firstRegistration = new Promise<void>((resolve) => {
      this.worker.event.on('worker_registered', (workerId: string) => {
        this.registered = true;
        this.lastRegisteredAt = performance.now();
        this.everRegistered = true;
        this.registrations += 1;
        this.lastProblem = '';
        options.logger.info({ workerId, agentName: options.name, registrations: this.registrations }, 'agent worker registered with LiveKit');
        resolve();
      });
    });
  }

  start(): void {
    this.running = this.worker.run().catch((err: unknown) => {
      if (this.stopping) return;
      this.registered = false;
      this.lastProblem = `worker stopped: ${(err as Error).message}`;
      this.options.logger.error({ err, assistant: this.name }, 'agent worker stopped unexpectedly');
    });
    this.poller = setInterval(() => {
      if (this.probing) return;
      this.probing = true;
      void this.pollHealth().finally(() => {
        this.probing = false;
      });
    }, HEALTH_POLL_MS);
    this.poller.unref();
  }

  /** Lets conversations in flight finish until the deadline, then closes everything. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.draining = true;
    clearInterval(this.poller);
    const remaining = Math.max(0, deadline - Date.now());
    await this.worker.drain(remaining).catch((err: unknown) => this.options.logger.warn({ err }, 'agent worker drain ended early'));
    await withTimeout(this.worker.close(), Math.max(1000, deadline - Date.now()), () =>
      this.options.logger.warn('agent worker did not close before the deadline'),
    );
    await withTimeout(this.running ?? Promise.resolve(), 1000, () => undefined);
    this.registered = false;
    this.lastProblem = 'stopped';
  }

  activeSessions(): number {
    try {
      return this.worker.activeJobs.length;
    } catch {
      return 0;
    }
  }

  private async pollHealth(): Promise<void> {
    if (this.stopping || !this.everRegistered) return;
    const probedAt = performance.now();
    const healthy = await probeWorkerHealth(this.healthPort);
    if (healthy) {
      this.failedProbes = 0;
      // The endpoint is healthy only with an open, registered connection: recovers from a probe
      // that merely timed out on a busy host.
      if (!this.registered) {
        this.registered = true;
        this.lastProblem = '';
      }
      return;
    }
    this.failedProbes += 1;
    // A registration that happened while the probe was in flight is newer news than the probe;
    // one slow probe on a loaded host is not a lost connection.
    if (this.failedProbes >= 2 && this.registered && this.lastRegisteredAt < probedAt) {
      this.registered = false;
      this.lastProblem = 'connection to the LiveKit server lost; reconnecting';
      this.options.logger.warn({ assistant: this.name }, 'agent worker lost its LiveKit connection; reconnecting');
    }
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    promise.then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) onTimeout();
}
