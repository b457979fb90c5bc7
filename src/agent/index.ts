/**
 * Agent mode: a LiveKit Agents worker registered under AGENT_NAME (explicit dispatch).
 *
 * agents-js 1.9 runs every job in a forked process (there is no in-process executor), so the
 * conversation itself lives in ./job.ts. This component runs the worker in the main process,
 * hands the job processes their config and collects their metrics over the control socket, and
 * reports readiness: ready only while the worker is registered with the LiveKit server.
 */
import { EventEmitter } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentServer, initializeLogger, loggerOptions, ServerOptions } from '@livekit/agents';
import type { Registry } from 'prom-client';
import type { Component, ComponentHealth } from '../component.js';
import { maskUrlCredentials } from '../config/mask.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import { ControlServer, type JobEvent } from './control-channel.js';
import { AgentMetrics } from './metrics.js';
import { llmSettings, type ProviderSettings, providerWarnings, sttSettings } from './settings.js';
import { SpeechLink } from './speech-link.js';
import { freeLoopbackPort, probeWorkerHealth } from './worker-health.js';

export interface AgentComponentOptions {
  config: Config;
  logger: Logger;
  metrics: Registry;
  /** The host's speech service: the job processes speak through it (they load no voice). */
  speech: SpeechService;
}

export interface AgentComponent extends Component {
  /** Per-turn stage timings and provider errors reported by the job processes (for benchmarks). */
  readonly events: EventEmitter<{ event: [JobEvent] }>;
  /** The port of the framework's own health server (resolved when AGENT_HEALTH_PORT is 0). */
  readonly workerHealthPort: number | undefined;
}

/** How long start() waits for the first registration before carrying on unregistered. */
const FIRST_REGISTRATION_WAIT_MS = 10_000;
const HEALTH_POLL_MS = 1000;
/** A fresh job process loads Silero; a loaded 2-core machine may need more than the 10 s default. */
const INITIALIZE_PROCESS_TIMEOUT_MS = 60_000;

export function createAgentComponent(options: AgentComponentOptions): AgentComponent {
  return new LiveKitAgentComponent(options);
}

class LiveKitAgentComponent implements AgentComponent {
  readonly name = 'agent';
  readonly events = new EventEmitter<{ event: [JobEvent] }>();
  workerHealthPort: number | undefined;

  private readonly config: Config;
  private readonly logger: Logger;
  private readonly metrics: AgentMetrics;
  private readonly control: ControlServer;
  private readonly speechLink: SpeechLink;
  private worker: AgentServer | undefined;
  private running: Promise<void> | undefined;
  private registered = false;
  private everRegistered = false;
  private registrations = 0;
  private sessionsTotal = 0;
  private stopping = false;
  private lastProblem = 'not started';
  private lastRegisteredAt = 0;
  private failedProbes = 0;
  private probing = false;
  private poller: NodeJS.Timeout | undefined;
  private controlEnv: Record<string, string> = {};
  /** LIVEKIT_URL as it may appear in logs and status (credentials inside it masked). */
  private readonly shownUrl: string;

  constructor(options: AgentComponentOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.control = new ControlServer(options.config, options.logger);
    this.speechLink = new SpeechLink(options.speech, options.config, options.logger.child({ link: 'speech' }));
    this.shownUrl = maskUrlCredentials(options.config.LIVEKIT_URL);
    this.metrics = new AgentMetrics(options.metrics, {
      activeSessions: () => this.activeSessions(),
      registered: () => this.registered,
    });
    this.control.on('event', (event) => {
      this.metrics.record(event);
      if (event.type === 'turn') {
        const { type: _type, stages, e2e_ms, overhead_ms, ...fields } = event;
        const ms = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
        this.logger.info(
          {
            ...fields,
            e2e_ms: ms(e2e_ms),
            overhead_ms: ms(overhead_ms),
            ...Object.fromEntries(Object.entries(stages).map(([name, v]) => [`${name}_ms`, ms(v)])),
          },
          'turn latency',
        );
      } else if (event.type === 'provider_error') {
        const { type: _type, ...fields } = event;
        this.logger.error(
          fields,
          `${event.provider === 'stt' ? 'speech-to-text' : 'language model'} failed (${event.kind}) at ${event.host}: ${event.cause}; the user heard an apology`,
        );
      }
      this.events.emit('event', event);
    });
  }

  async start(): Promise<void> {
    for (const warning of providerWarnings(this.config)) this.logger.warn(warning);
    this.logger.info({ llm: shownProvider(llmSettings(this.config)), stt: shownProvider(sttSettings(this.config)) }, 'conversation models');
    if (!loggerOptions()) {
      initializeLogger({ pretty: this.config.LOG_FORMAT === 'pretty', level: frameworkLogLevel(this.config.LOG_LEVEL) });
    }
    await this.control.start();
    // Job processes are forked from this process and inherit its environment: that is how they
    // find the private control socket, its per-run token and the speech socket.
    this.controlEnv = { ...this.control.env(), ...(await this.speechLink.start(this.control.privateDir)) };
    Object.assign(process.env, this.controlEnv);

    this.workerHealthPort = this.config.AGENT_HEALTH_PORT === 0 ? await freeLoopbackPort() : this.config.AGENT_HEALTH_PORT;
    const here = fileURLToPath(import.meta.url);
    const agentFile = fileURLToPath(new URL(`./job${extname(here)}`, import.meta.url));
    const worker = new AgentServer(
      new ServerOptions({
        agent: agentFile,
        agentName: this.config.AGENT_NAME,
        wsURL: this.config.LIVEKIT_URL,
        apiKey: this.config.LIVEKIT_API_KEY,
        apiSecret: this.config.LIVEKIT_API_SECRET,
        host: this.config.HEALTH_HOST,
        port: this.workerHealthPort,
        numIdleProcesses: this.config.AGENT_IDLE_PROCESSES,
        initializeProcessTimeout: INITIALIZE_PROCESS_TIMEOUT_MS,
        shutdownProcessTimeout: Math.max(1000, this.config.SHUTDOWN_TIMEOUT_MS),
        // Never give up reconnecting: a LiveKit server restart must not end the worker.
        maxRetry: Number.MAX_SAFE_INTEGER,
        logLevel: frameworkLogLevel(this.config.LOG_LEVEL),
        // The default load is the machine's CPU use: on a busy host it reaches 1, and LiveKit then
        // sends no job at all ("no servers available"). Load here is the share of session slots in use.
        loadFunc: async () => Math.min(1, this.activeSessions() / this.config.AGENT_MAX_SESSIONS),
        loadThreshold: 1,
        requestFunc: async (request) => {
          await request.accept();
          this.metrics.sessionsTotal.inc();
          this.sessionsTotal += 1;
          this.logger.info({ room: request.room?.name, job: request.id }, 'agent job accepted');
        },
      }),
    );
    this.worker = worker;
    const firstRegistration = new Promise<void>((resolve) => {
      worker.event.on('worker_registered', (workerId: string) => {
        this.registered = true;
        this.lastRegisteredAt = performance.now();
        this.everRegistered = true;
        this.registrations += 1;
        this.lastProblem = '';
        this.logger.info({ workerId, agentName: this.config.AGENT_NAME, registrations: this.registrations }, 'agent worker registered with LiveKit');
        resolve();
      });
    });
    this.running = worker.run().catch((err: unknown) => {
      if (this.stopping) return;
      this.registered = false;
      this.lastProblem = `worker stopped: ${(err as Error).message}`;
      this.logger.error({ err }, 'agent worker stopped unexpectedly');
    });
    this.poller = setInterval(() => {
      if (this.probing) return;
      this.probing = true;
      void this.pollHealth().finally(() => {
        this.probing = false;
      });
    }, HEALTH_POLL_MS);
    this.poller.unref();

    const waited = await Promise.race([
      firstRegistration.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FIRST_REGISTRATION_WAIT_MS).unref()),
    ]);
    if (!waited) {
      this.lastProblem = `not registered with the LiveKit server at ${this.shownUrl} yet (retrying)`;
      this.logger.warn({ url: this.shownUrl }, 'agent worker not registered yet; it keeps retrying and /ready says so');
    }
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.poller);
    const worker = this.worker;
    if (worker) {
      const remaining = Math.max(0, deadline - Date.now());
      // Let conversations in flight finish until the deadline, then close everything.
      await worker.drain(remaining).catch((err: unknown) => this.logger.warn({ err }, 'agent worker drain ended early'));
      await withTimeout(worker.close(), Math.max(1000, deadline - Date.now()), () => this.logger.warn('agent worker did not close before the deadline'));
      await withTimeout(this.running ?? Promise.resolve(), 1000, () => undefined);
    }
    this.registered = false;
    this.lastProblem = 'stopped';
    await this.speechLink.stop(deadline);
    await this.control.stop();
    for (const [name, value] of Object.entries(this.controlEnv)) {
      if (process.env[name] === value) delete process.env[name];
    }
    this.controlEnv = {};
  }

  health(): ComponentHealth {
    if (this.registered) return { ready: true, detail: 'registered' };
    return { ready: false, detail: this.lastProblem || 'not registered with the LiveKit server' };
  }

  status(): Record<string, unknown> {
    return {
      registered: this.registered,
      registrations: this.registrations,
      agent_name: this.config.AGENT_NAME,
      livekit_url: this.shownUrl,
      sessions_active: this.activeSessions(),
      sessions_total: this.sessionsTotal,
      llm: shownProvider(llmSettings(this.config)),
      stt: shownProvider(sttSettings(this.config)),
      speech_link: this.speechLink.status(),
    };
  }

  private activeSessions(): number {
    try {
      return this.worker?.activeJobs.length ?? 0;
    } catch {
      return 0;
    }
  }

  /** The framework says nothing when its connection drops; its own health endpoint does. */
  private async pollHealth(): Promise<void> {
    if (this.stopping || !this.everRegistered || this.workerHealthPort === undefined) return;
    const probedAt = performance.now();
    const healthy = await probeWorkerHealth(this.workerHealthPort);
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
      this.logger.warn({ url: this.shownUrl }, 'agent worker lost its LiveKit connection; reconnecting');
    }
  }
}

function frameworkLogLevel(level: Config['LOG_LEVEL']): string {
  return level === 'silent' ? 'fatal' : level;
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

/** A provider as shown in logs and /status: model and where it runs, never the key. */
function shownProvider(settings: ProviderSettings | undefined): { model: string; provider: string } | null {
  return settings ? { model: settings.model, provider: settings.provider } : null;
}
