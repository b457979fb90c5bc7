/**
 * The link between the main process and the job processes LiveKit Agents forks.
 *
 * Job processes are separate Node processes, so they cannot touch the main process's config
 * object or Prometheus registry. On start a job process connects to the main process's Unix
 * socket, proves it is one of ours with the per-run token, receives the parent's validated config
 * (so it runs with exactly the same settings, even when the parent was configured
 * programmatically), and then reports each turn's latency and provider errors back as
 * newline-delimited JSON.
 *
 * The config holds the API secrets, so the socket is private: it lives in a fresh 0700 directory
 * (fs.mkdtemp), the socket file is 0600, and a connection that does not open with the right token
 * within a few seconds is dropped. Socket path and token reach the job processes through their
 * environment (forked processes inherit it), under CONTROL_ENV.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { AssistantSpec } from './assistant-spec.js';

/** The environment variables that carry the socket path and token to the job processes. */
export const CONTROL_ENV = { socket: 'VO_AGENT_CONTROL_SOCKET', token: 'VO_AGENT_CONTROL_TOKEN' } as const;

/** A connection that has not said hello with the token by then is dropped. */
const HELLO_TIMEOUT_MS = 5000;
/** Job processes are a handful; more connections than this at once are refused. */
const MAX_CONNECTIONS = 256;

export const TURN_STAGES = ['eou_delay', 'transcription_delay', 'stt_duration', 'llm_ttft', 'llm_first_sentence', 'tts_ttfb'] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

const duration = z.number().finite().min(0).max(3_600_000);

const jobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), pid: z.number().int(), token: z.string().max(256) }),
  z.object({
    type: z.literal('turn'),
    room: z.string().max(256),
    assistant: z.string().max(64),
    turn: z.number().int().min(1),
    e2e_ms: duration,
    overhead_ms: z.number().finite().min(-3_600_000).max(3_600_000).optional(),
    stages: z.partialRecord(z.enum(TURN_STAGES), duration),
    interrupted: z.boolean(),
  }),
  z.object({
    type: z.literal('provider_error'),
    room: z.string().max(256),
    assistant: z.string().max(64),
    provider: z.enum(['stt', 'llm', 'tts']),
    host: z.string().max(256),
    kind: z.enum(['timeout', 'error', 'garbage', 'empty']),
    model: z.string().max(256),
    cause: z.string().max(2000),
    /** The next provider of the chain took the request over: the user heard no apology. */
    fallback: z.boolean().optional(),
  }),
  z.object({ type: z.literal('agent_speaking'), room: z.string().max(256) }),
]);
export type JobEvent = z.infer<typeof jobEvent>;

/** From job processes: events are small. */
const MAX_EVENT_LINE = 64 * 1024;
/** From the main process (trusted): the assistants, instructions included. */
const MAX_MAIN_LINE = 16 * 1024 * 1024;

function splitLines(socket: Socket, maxLine: number, onLine: (line: string) => void, onOverflow: () => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      if (line.length > 0) onLine(line);
    }
    if (buffer.length > maxLine) {
      buffer = '';
      onOverflow();
    }
  });
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Main-process side. Emits 'event' (JobEvent) for everything job processes report. */
export class ControlServer extends EventEmitter<{ event: [JobEvent] }> {
  private server: Server | undefined;
  private dir: string | undefined;
  private socketPath: string | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly authenticated = new Set<Socket>();
  private specs: AssistantSpec[] = [];
  /** Per run: what a job process must present before it gets the config. */
  readonly token = randomBytes(32).toString('base64url');

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** The socket path (set by start()). */
  get path(): string {
    if (!this.socketPath) throw new Error('agent control socket not started');
    return this.socketPath;
  }

  /** The private 0700 directory holding the socket: other private sockets for the job processes go beside it. */
  get privateDir(): string {
    if (!this.dir) throw new Error('agent control socket not started');
    return this.dir;
  }

  /** What a job process needs in its environment to connect: socket path and token. */
  env(): Record<string, string> {
    return { [CONTROL_ENV.socket]: this.path, [CONTROL_ENV.token]: this.token };
  }

  async start(): Promise<void> {
    // A fresh private directory per run: nothing stale or planted can sit at the path, and no
    // other user can reach the socket (mkdtemp creates it 0700; chmod in case of an odd umask).
    const dir = await mkdtemp(join(tmpdir(), 'voice-orchestrator-agent-'));
    await chmod(dir, 0o700);
    this.dir = dir;
    const path = join(dir, 'control.sock');
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = MAX_CONNECTIONS;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await chmod(path, 0o600);
    } catch (err) {
      server.close();
      await rm(dir, { recursive: true, force: true });
      this.dir = undefined;
      throw err;
    }
    server.on('error', (err) => this.logger.error({ err }, 'agent control socket failed'));
    this.server = server;
    this.socketPath = path;
  }

  /** The assistants in force: sent to every job process now and to each one that connects later. */
  publish(specs: AssistantSpec[]): void {
    this.specs = specs;
    const line = assistantsLine(specs);
    for (const socket of this.authenticated) if (!socket.destroyed) socket.write(line);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.authenticated.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let authenticated = false;
    const helloTimer = setTimeout(() => {
      this.logger.warn('agent control socket: a connection sent no valid hello in time; dropped');
      socket.destroy();
    }, HELLO_TIMEOUT_MS);
    helloTimer.unref();
    socket.on('close', () => clearTimeout(helloTimer));
    const refuse = (why: string) => {
      clearTimeout(helloTimer);
      this.logger.warn(`agent control socket: connection dropped (${why})`);
      socket.destroy();
    };
    splitLines(
      socket,
      MAX_EVENT_LINE,
      (line) => {
        if (socket.destroyed) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          if (!authenticated) return refuse('first line is not JSON');
          this.logger.warn('agent control socket: a job process sent a line that is not JSON');
          return;
        }
        const result = jobEvent.safeParse(parsed);
        if (!authenticated) {
          // Nothing but a hello with the right token is accepted first; no detail on what was wrong.
          if (!result.success || result.data.type !== 'hello' || !sameToken(result.data.token, this.token)) return refuse('no valid token');
          authenticated = true;
          this.authenticated.add(socket);
          clearTimeout(helloTimer);
          socket.write(`${JSON.stringify({ type: 'config', config: this.config })}\n`);
          socket.write(assistantsLine(this.specs));
          return;
        }
        if (!result.success) {
          this.logger.warn({ issues: result.error.issues.length }, 'agent control socket: unknown message from a job process');
          return;
        }
        if (result.data.type === 'hello') return;
        this.emit('event', result.data);
      },
      () => socket.destroy(),
    );
  }
}

function assistantsLine(specs: AssistantSpec[]): string {
  return `${JSON.stringify({ type: 'assistants', specs })}\n`;
}

/** Job-process side: the parent's config, the assistants in force, and a fire-and-forget event sender. */
export interface ControlClient {
  config: Config;
  /** The assistant registered under `name` as the main process last published it. */
  assistant(name: string): AssistantSpec | undefined;
  send(event: JobEvent): void;
  close(): void;
}

export interface ConnectOptions {
  /** Default: from the environment (CONTROL_ENV), as the main process set it for its job processes. */
  path?: string;
  token?: string;
  timeoutMs?: number;
}

/**
 * Connects to the main process's control socket; rejects when there is none (job not started by
 * our component) or when it does not answer the token with the config.
 */
export function connectControl(options: ConnectOptions = {}): Promise<ControlClient> {
  const path = options.path ?? process.env[CONTROL_ENV.socket];
  const token = options.token ?? process.env[CONTROL_ENV.token];
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!path || !token) return Promise.reject(new Error('agent control socket: not started by the agent component (no socket or token in the environment)'));
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(new Error('agent control socket: no config from the main process in time'));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    socket.once('connect', () => socket.write(`${JSON.stringify({ type: 'hello', pid: process.pid, token })}\n`));
    socket.once('close', () => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(new Error('agent control socket: the main process closed the connection (wrong token?)'));
      }
    });
    const specs = new Map<string, AssistantSpec>();
    let client: ControlClient | undefined;
    splitLines(
      socket,
      MAX_MAIN_LINE,
      (line) => {
        let message: { type?: string; config?: Config; specs?: AssistantSpec[] };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          message = {};
        }
        if (client) {
          if (message.type === 'assistants' && Array.isArray(message.specs)) {
            specs.clear();
            for (const spec of message.specs) specs.set(spec.name, Object.freeze(spec));
          }
          return;
        }
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (message.type !== 'config' || typeof message.config !== 'object' || message.config === null) {
          socket.destroy();
          reject(new Error('agent control socket: the first message was not the config'));
          return;
        }
        socket.on('error', () => undefined);
        socket.unref();
        client = {
          config: Object.freeze(message.config),
          assistant: (name) => specs.get(name),
          send(event) {
            if (!socket.destroyed) socket.write(`${JSON.stringify(event)}\n`);
          },
          close() {
            socket.end();
          },
        };
        resolve(client);
      },
      () => socket.destroy(),
    );
  });
}
