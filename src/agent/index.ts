/**
 * Agent mode: one LiveKit Agents worker per assistant, each registered under the assistant's name
 * (explicit dispatch): the assistants of ASSISTANTS_FILE, or the single assistant AGENT_NAME.
 *
 * agents-js 1.9 runs every job in a forked process, so the conversation itself lives in ./job.ts,
 * run by room hosts (./room-host/): job processes that hold several rooms each.
 * This component runs the workers in the main process, hands the job processes their config and
 * the assistants in force over the control socket (a reload reaches new conversations at once;
 * live ones keep the version they started with), serves them the host's speech service, collects
 * their per-turn latency and provider errors, and reports readiness: ready while every assistant's
 * worker is registered with the LiveKit server.
 */
import { EventEmitter } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initializeLogger, loggerOptions } from '@livekit/agents';
import type { Registry } from 'prom-client';
import type { AssistantsSource } from '../assistants/watch.js';
import type { Component, ComponentHealth } from '../component.js';
import { maskUrlCredentials } from '../config/mask.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import { type AssistantSpec, specFromAssistant, specFromConfig } from './assistant-spec.js';
import { AssistantWorker } from './assistant-worker.js';
import { ControlServer, type JobEvent } from './control-channel.js';
import { skipUnusedInferenceProcess } from './inference-process.js';
import { jobModules } from './job-entry.js';
import { limitJobHeap } from './job-heap.js';
import { AgentMetrics } from './metrics.js';
import { warmLocalPrompts } from './prompt-warmup.js';
import { type ProviderSettings, providerWarnings } from './settings.js';
import { SpeechLink } from './speech-link.js';
import { freeLoopbackPort } from './worker-health.js';
import { runJobsInRoomHosts, stopRunningJobsIn } from './room-host/framework-hook.js';
import { RoomHosts } from './room-host/hosts.js';

export interface AgentComponentOptions {
  config: Config;
  logger: Logger;
  metrics: Registry;
  /** The host's speech service: the job processes speak through it (they load no voice). */
  speech: SpeechService;
  /** ASSISTANTS_FILE, kept current; absent = the single assistant of the AGENT_* variables. */
  assistants?: AssistantsSource;
  /** Where the profiles' api_key_env variables are looked up (the environment and the .env layers). */
  keyEnv?: NodeJS.ProcessEnv;
}

export interface AgentComponent extends Component {
  /** Per-turn latency and provider errors reported by the job processes (for benchmarks). */
  readonly events: EventEmitter<{ event: [JobEvent] }>;
  /** The port of the first assistant's framework health server (resolved when AGENT_HEALTH_PORT is 0). */
  readonly workerHealthPort: number | undefined;
}

/** How long start() waits for the first registrations before carrying on unregistered. */
const FIRST_REGISTRATION_WAIT_MS = 10_000;
/** Per assistant, the turns whose latency /status summarises. */
const LATENCY_WINDOW = 200;

export function createAgentComponent(options: AgentComponentOptions): AgentComponent {
  return new LiveKitAgentComponent(options);
}

interface AssistantStats {
  turns: number;
  errors: number;
  latencies: number[];
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
  private readonly workers = new Map<string, AssistantWorker>();
  /** Removed assistants still finishing their conversations. */
  private readonly retiring = new Set<AssistantWorker>();
  private specs = new Map<string, AssistantSpec>();
  private readonly stats = new Map<string, AssistantStats>();
  private agentFile = '';
  private roomHosts: RoomHosts | undefined;
  private stopping = false;
  private controlEnv: Record<string, string> = {};
  /** LIVEKIT_URL as it may appear in logs and status (credentials inside it masked). */
  private readonly shownUrl: string;
  private readonly onChanged = () => void this.applyAssistants();
  private readonly onInvalid = (error: Error) =>
    this.logger.error({ cause: error.message }, 'assistants file edit refused; the running version stays (fix the file and save it again)');

  constructor(private readonly options: AgentComponentOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.control = new ControlServer(options.config, options.logger);
    this.speechLink = new SpeechLink(options.speech, options.config, options.logger.child({ link: 'speech' }));
    this.shownUrl = maskUrlCredentials(options.config.LIVEKIT_URL);
    this.metrics = new AgentMetrics(options.metrics, {
      activeSessions: () => [...this.workers.values(), ...this.retiring].reduce((n, w) => n + w.activeSessions(), 0),
      registered: () => this.allRegistered(),
    });
    this.control.on('event', (event) => this.onJobEvent(event));
  }

  async start(): Promise<void> {
    if (!loggerOptions()) {
      initializeLogger({ pretty: this.config.LOG_FORMAT === 'pretty', level: this.config.LOG_LEVEL === 'silent' ? 'fatal' : this.config.LOG_LEVEL });
    }
    await this.control.start();
    // Job processes are forked from this process and inherit its environment: that is how they
    // find the private control socket, its per-run token and the speech socket.
    this.controlEnv = { ...this.control.env(), ...(await this.speechLink.start(this.control.privateDir)) };
    Object.assign(process.env, this.controlEnv);
    const ext = extname(fileURLToPath(import.meta.url));
    const modules = await jobModules(
      { job: fileURLToPath(new URL(`./job${ext}`, import.meta.url)), host: fileURLToPath(new URL(`./room-host/host-main${ext}`, import.meta.url)) },
      this.control.privateDir,
      this.logger,
    );
    this.agentFile = modules.job;
    this.roomHosts = new RoomHosts({
      hostFile: modules.host,
      agentFile: modules.job,
      roomsPerProcess: this.config.AGENT_ROOMS_PER_PROCESS,
      roomsPerProcessLife: this.config.AGENT_ROOMS_PER_PROCESS_LIFE,
      logger: this.logger.child({ part: 'room-hosts' }),
    });
    await runJobsInRoomHosts(this.roomHosts);
    if (!this.options.assistants) for (const warning of providerWarnings(this.config)) this.logger.warn(warning);
    skipUnusedInferenceProcess();
    limitJobHeap({ semiSpaceMb: this.config.AGENT_JOB_SEMI_SPACE_MB, heapGrowingPercent: this.config.AGENT_JOB_HEAP_GROWING_PERCENT });
    await this.applyAssistants({ warmup: 'before-registering' });
    this.options.assistants?.on('changed', this.onChanged).on('invalid', this.onInvalid);

    const registered = Promise.all([...this.workers.values()].map((w) => w.firstRegistration));
    const waited = await Promise.race([
      registered.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), FIRST_REGISTRATION_WAIT_MS).unref()),
    ]);
    if (!waited) this.logger.warn({ url: this.shownUrl }, 'agent worker not registered yet; it keeps retrying and /ready says so');
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.options.assistants?.off('changed', this.onChanged).off('invalid', this.onInvalid);
    await Promise.all([...this.workers.values(), ...this.retiring].map((w) => w.stop(deadline)));
    if (this.roomHosts) {
      stopRunningJobsIn(this.roomHosts);
      await this.roomHosts.stop(Math.max(deadline, Date.now() + 1000));
    }
    await this.speechLink.stop(deadline);
    await this.control.stop();
    for (const [name, value] of Object.entries(this.controlEnv)) {
      if (process.env[name] === value) delete process.env[name];
    }
    this.controlEnv = {};
  }

  health(): ComponentHealth {
    const workers = [...this.workers.values()];
    if (workers.length > 0 && this.allRegistered()) return { ready: true, detail: 'registered' };
    const problem = workers.find((w) => !w.registered);
    return { ready: false, detail: problem ? `${problem.name}: ${problem.lastProblem || 'not registered with the LiveKit server'}` : 'no assistant' };
  }

  status(): Record<string, unknown> {
    const assistants = [...this.workers.values(), ...this.retiring].map((w) => {
      const spec = this.specs.get(w.name);
      const stats = this.statsOf(w.name);
      return {
        name: w.name,
        state: w.draining ? 'draining' : w.registered ? 'serving' : w.lastProblem || 'not registered',
        version: spec?.version ?? null,
        voice: spec?.voice ?? null,
        llm: spec?.llm.map(shownProvider) ?? [],
        stt: spec?.stt.map(shownProvider) ?? [],
        sessions_active: w.activeSessions(),
        sessions_total: w.sessionsTotal,
        max_sessions: spec?.maxSessions ?? null,
        turns: stats.turns,
        errors: stats.errors,
        p50_ms: median(stats.latencies),
      };
    });
    const first = this.specs.values().next().value as AssistantSpec | undefined;
    return {
      registered: this.allRegistered(),
      registrations: [...this.workers.values()].reduce((n, w) => n + w.registrations, 0),
      agent_name: first?.name ?? this.config.AGENT_NAME,
      livekit_url: this.shownUrl,
      sessions_active: assistants.reduce((n, a) => n + a.sessions_active, 0),
      sessions_total: assistants.reduce((n, a) => n + a.sessions_total, 0),
      llm: first?.llm[0] ? shownProvider(first.llm[0]) : null,
      stt: first?.stt[0] ? shownProvider(first.stt[0]) : null,
      assistants,
      assistants_file: this.options.assistants ? { file: this.options.assistants.current().file, version: this.options.assistants.current().version } : null,
      speech_link: this.speechLink.status(),
      job_processes: this.roomHosts?.status() ?? [],
    };
  }

  /**
   * The assistants in force to the job processes; workers started for new names, removed ones drained.
   * The local LLM is warmed with their openings; at start, before the first worker registers.
   */
  private async applyAssistants(options: { warmup: 'before-registering' | 'alongside' } = { warmup: 'alongside' }): Promise<void> {
    if (this.stopping) return;
    const source = this.options.assistants;
    const specs = source
      ? source.current().assistants.map((a) => specFromAssistant(a, source.current().version, this.config, this.options.keyEnv ?? process.env))
      : [specFromConfig(this.config)];
    this.specs = new Map(specs.map((s) => [s.name, s]));
    this.control.publish(specs);
    const warmed = warmLocalPrompts(specs, this.config, this.logger);
    if (options.warmup === 'before-registering') await warmed;
    for (const spec of specs) {
      this.logger.info(
        { assistant: spec.name, version: spec.version, voice: spec.voice, llm: spec.llm.map(shownProvider), stt: spec.stt.map(shownProvider) },
        'assistant in force',
      );
      if (!this.workers.has(spec.name)) await this.addWorker(spec.name);
    }
    for (const [name, worker] of this.workers) {
      if (this.specs.has(name)) continue;
      this.workers.delete(name);
      this.retiring.add(worker);
      worker.draining = true;
      this.logger.info(
        { assistant: name, sessions: worker.activeSessions() },
        'assistant removed from the file: it takes no new rooms; its conversations finish',
      );
      // conversations end by themselves (AGENT_MAX_CONVERSATION_MS at the latest)
      void worker.stop(Date.now() + this.config.AGENT_MAX_CONVERSATION_MS + 5000).finally(() => this.retiring.delete(worker));
    }
  }

  private async addWorker(name: string): Promise<void> {
    const first = this.workerHealthPort === undefined;
    const healthPort = first && this.config.AGENT_HEALTH_PORT !== 0 ? this.config.AGENT_HEALTH_PORT : await freeLoopbackPort();
    if (first) this.workerHealthPort = healthPort;
    const worker = new AssistantWorker({
      name,
      agentFile: this.agentFile,
      config: this.config,
      logger: this.logger,
      healthPort,
      maxSessions: () => this.specs.get(name)?.maxSessions ?? this.config.AGENT_MAX_SESSIONS,
      onJobAccepted: () => this.metrics.sessionsTotal.inc({ assistant: name }),
    });
    this.workers.set(name, worker);
    worker.start();
  }

  private onJobEvent(event: JobEvent): void {
    this.metrics.record(event);
    if (event.type === 'turn') {
      const stats = this.statsOf(event.assistant);
      stats.turns += 1;
      stats.latencies.push(event.e2e_ms);
      if (stats.latencies.length > LATENCY_WINDOW) stats.latencies.shift();
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
      this.statsOf(event.assistant).errors += 1;
      const { type: _type, ...fields } = event;
      this.logger.error(
        fields,
        `${event.provider === 'stt' ? 'speech-to-text' : 'language model'} failed (${event.kind}) at ${event.host}: ${event.cause}; ${event.fallback ? 'the next provider of the chain took over' : 'the user heard an apology'}`,
      );
    }
    this.events.emit('event', event);
  }

  private statsOf(name: string): AssistantStats {
    let stats = this.stats.get(name);
    if (!stats) {
      stats = { turns: 0, errors: 0, latencies: [] };
      this.stats.set(name, stats);
    }
    return stats;
  }

  private allRegistered(): boolean {
    const workers = [...this.workers.values()];
    return workers.length > 0 && workers.every((w) => w.registered);
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor((sorted.length - 1) / 2)]!);
}

/** A provider as shown in logs and /status: model and where it runs, never the key. */
function shownProvider(settings: ProviderSettings): { model: string; provider: string } {
  return { model: settings.model, provider: settings.provider };
}
