import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../ops/logger.js';
import type { Protocol } from '../speech/metrics.js';
import type { SpeechService } from '../speech/service.js';
import { type ConnectionLimits, WyomingConnection } from './connection.js';
import { encodeEvent } from './framing.js';

export interface WyomingServerOptions {
  speech: SpeechService;
  limits: ConnectionLimits;
  maxConnections: number;
  protocol: Protocol;
  logger: Logger;
  info(): Promise<Record<string, unknown>>;
}

/** Where to listen: a TCP host and port, or a Unix socket path. */
export type ListenTarget = { host: string; port: number } | { path: string };

/**
 * A Wyoming text-to-speech listener over the speech service: one WyomingConnection per client;
 * clients beyond `maxConnections`, or arriving while it stops, get an `error` event and are closed.
 * Serves Home Assistant on TCP (the wyoming component) and this host's agent job processes on a
 * private Unix socket (the agent component).
 */
export class WyomingServer {
  private readonly server: Server;
  private readonly connections = new Map<Socket, WyomingConnection>();
  private state: 'idle' | 'listening' | 'stopping' | 'failed' = 'idle';

  constructor(private readonly options: WyomingServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => options.logger.error({ err }, 'wyoming server error'));
  }

  /** Rejects with the listen error's code (EADDRINUSE, EACCES, ...) for the caller to explain. */
  async listen(target: ListenTarget): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.state = 'failed';
        reject(err);
      };
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        resolve();
      };
      if ('path' in target) this.server.listen(target.path, done);
      else this.server.listen(target.port, target.host, done);
    });
    this.state = 'listening';
  }

  /** Stops accepting; idle connections close at once, those speaking may finish until `deadline`. */
  async stop(deadline: number): Promise<void> {
    this.state = 'stopping';
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    while (this.connections.size > 0 && Date.now() < deadline) {
      for (const connection of this.connections.values()) if (!connection.busy) connection.close();
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const connection of this.connections.values()) connection.close();
    for (const socket of this.connections.keys()) socket.destroy();
    await closed;
  }

  get listening(): boolean {
    return this.state === 'listening';
  }

  get status(): string {
    return this.state;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  address(): { host: string; port: number } | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  private accept(socket: Socket): void {
    const { speech, protocol, maxConnections, limits, info, logger } = this.options;
    socket.setNoDelay(true);
    if (this.state !== 'listening' || this.connections.size >= maxConnections) {
      const full = this.state === 'listening';
      const why = full ? `the server is at its limit of ${maxConnections} connections` : 'the server is shutting down';
      speech.metrics.error(protocol, full ? 'too_many_connections' : 'shutting_down');
      socket.on('error', () => socket.destroy());
      socket.end(encodeEvent('error', { text: `${why}; try again later`, code: full ? 'too_many_connections' : 'shutting_down' }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const connection = new WyomingConnection({ socket, speech, protocol, limits, info, log: logger.child({ peer: socket.remoteAddress ?? 'local' }) });
    this.connections.set(socket, connection);
    socket.on('close', () => this.connections.delete(socket));
  }
}
