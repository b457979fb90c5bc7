/**
 * The link between the main process and the job processes LiveKit Agents forks.
 *
 * Job processes are separate Node processes, so they cannot touch the main process's config
 * object or Prometheus registry. On start a job process connects to a Unix socket named after
 * its parent's pid, receives the parent's validated config (so it runs with exactly the same
 * settings, even when the parent was configured programmatically), and then reports per-turn
 * metrics and provider errors back as newline-delimited JSON.
 */
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';

export function controlSocketPath(mainPid: number): string {
  return join(tmpdir(), `voice-orchestrator-agent-${mainPid}.sock`);
}

export const TURN_STAGES = ['eou_delay', 'transcription_delay', 'stt_duration', 'llm_ttft', 'llm_first_sentence', 'tts_ttfb'] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

const jobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), pid: z.number().int() }),
  z.object({
    type: z.literal('stage'),
    room: z.string().max(256),
    stage: z.enum(TURN_STAGES),
    ms: z.number().finite().min(0).max(3_600_000),
  }),
  z.object({
    type: z.literal('provider_error'),
    room: z.string().max(256),
    provider: z.enum(['stt', 'llm', 'tts']),
    host: z.string().max(256),
    kind: z.enum(['timeout', 'error', 'garbage', 'empty']),
    model: z.string().max(256),
    cause: z.string().max(2000),
  }),
  z.object({ type: z.literal('agent_speaking'), room: z.string().max(256) }),
]);
export type JobEvent = z.infer<typeof jobEvent>;

const MAX_LINE = 64 * 1024;

function splitLines(socket: Socket, onLine: (line: string) => void, onOverflow: () => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      if (line.length > 0) onLine(line);
    }
    if (buffer.length > MAX_LINE) {
      buffer = '';
      onOverflow();
    }
  });
}

/** Main-process side. Emits 'event' (JobEvent) for everything job processes report. */
export class ControlServer extends EventEmitter<{ event: [JobEvent] }> {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly path: string;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    mainPid = process.pid,
  ) {
    super();
    this.path = controlSocketPath(mainPid);
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error({ err }, 'agent control socket failed'));
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    splitLines(
      socket,
      (line) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          this.logger.warn('agent control socket: a job process sent a line that is not JSON');
          return;
        }
        const result = jobEvent.safeParse(parsed);
        if (!result.success) {
          this.logger.warn({ issues: result.error.issues.length }, 'agent control socket: unknown message from a job process');
          return;
        }
        if (result.data.type === 'hello') {
          socket.write(`${JSON.stringify({ type: 'config', config: this.config })}\n`);
          return;
        }
        this.emit('event', result.data);
      },
      () => socket.destroy(),
    );
  }
}

/** Job-process side: the parent's config plus a fire-and-forget event sender. */
export interface ControlClient {
  config: Config;
  send(event: JobEvent): void;
  close(): void;
}

/** Connects to the parent's control socket; rejects when there is none (job not started by our component). */
export function connectControl(parentPid = process.ppid, timeoutMs = 5000): Promise<ControlClient> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(parentPid));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('agent control socket: no config from the main process in time'));
    }, timeoutMs);
    let settled = false;
    socket.once('error', (err) => {
      clearTimeout(timer);
      if (!settled) reject(err);
    });
    socket.once('connect', () => socket.write(`${JSON.stringify({ type: 'hello', pid: process.pid })}\n`));
    splitLines(
      socket,
      (line) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          const message = JSON.parse(line) as { type?: string; config?: Config };
          if (message.type !== 'config' || typeof message.config !== 'object' || message.config === null) {
            throw new Error('first message was not the config');
          }
          socket.on('error', () => undefined);
          socket.unref();
          resolve({
            config: Object.freeze(message.config),
            send(event) {
              if (!socket.destroyed) socket.write(`${JSON.stringify(event)}\n`);
            },
            close() {
              socket.end();
            },
          });
        } catch (err) {
          socket.destroy();
          reject(err);
        }
      },
      () => socket.destroy(),
    );
  });
}
