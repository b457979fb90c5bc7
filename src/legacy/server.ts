import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { hardenHttpServer, listen, rejectSocket, requestPath, safeHandler } from '../ops/http-listen.js';
import type { Logger } from '../ops/logger.js';
import type { TokenCheck } from '../speech/auth.js';
import type { SpeechService } from '../speech/service.js';
import type { LegacyMetrics } from './metrics.js';
import type { RefusalCode } from './protocol.js';
import { Session, type SessionLimits } from './session.js';

/** Plain HTTP requests the port also answers (the OpenAI speech API); everything else is told to upgrade. */
export interface HttpApi {
  handles(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Stop taking requests; those in flight may finish until `deadline`. */
  close(deadline: number): Promise<void>;
}

export interface LegacyServerOptions {
  host: string;
  port: number;
  auth: TokenCheck;
  allowedOrigins: readonly string[];
  maxConnections: number;
  limits: SessionLimits;
  speech: SpeechService;
  httpApi?: HttpApi;
  metrics: LegacyMetrics;
  logger: Logger;
}

/** Messages above this many times the limit are not even read: `ws` closes the socket (1009). */
const HARD_PAYLOAD_FACTOR = 4;

/**
 * The speech server's port: an upgrade request is a legacy WebSocket client, a plain request to
 * a path the HttpApi handles (the OpenAI API under /v1/) goes to it, anything else is told to
 * upgrade. For WebSockets every refusal (auth, origin, capacity, shutdown, path) happens on the
 * HTTP upgrade request, before a WebSocket exists; accepted sockets each get a Session.
 */
export class LegacyServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly sockets = new Set<WebSocket>();
  private pendingUpgrades = 0;
  private accepting = false;
  private readonly allClosedWaiters: Array<() => void> = [];

  constructor(private readonly options: LegacyServerOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: Math.max(options.limits.maxMessageBytes * HARD_PAYLOAD_FACTOR, 1024),
      perMessageDeflate: false,
      clientTracking: false,
    });
    const httpApi = options.httpApi;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (httpApi?.handles(req)) return httpApi.handle(req, res);
      res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade, close' });
      res.end(JSON.stringify({ error: 'this endpoint speaks WebSocket (and the OpenAI speech API under /v1/)', code: 'UPGRADE_REQUIRED' }));
    };
    this.http = createServer(safeHandler(onRequest, { logger: options.logger, name: 'legacy' }));
    this.http.on('upgrade', (req, socket, head) => {
      try {
        this.handleUpgrade(req, socket, head);
      } catch (err) {
        // nothing one client sends may escape to the process: answer 400 and close this socket
        this.options.logger.warn({ err }, 'upgrade request failed');
        this.options.metrics.error('BAD_REQUEST');
        refuse(socket, 400, 'BAD_REQUEST', 'the upgrade request could not be handled');
      }
    });
    hardenHttpServer(this.http, { logger: options.logger, name: 'legacy', allowUpgrades: true });
  }

  async listen(): Promise<void> {
    const { port, host, logger } = this.options;
    await listen(this.http, { port, host, logger, name: 'legacy WebSocket server', variables: 'LEGACY_HOST / LEGACY_PORT' });
    this.accepting = true;
  }

  address(): { host: string; port: number } | undefined {
    const address = this.http.address();
    if (!address || typeof address === 'string') return undefined;
    return { host: address.address, port: address.port };
  }

  get listening(): boolean {
    return this.accepting && this.http.listening;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Stop accepting; every session ends with reason `shutdown`; resolves when all sockets closed or at the deadline. */
  async stop(deadline: number): Promise<void> {
    this.accepting = false;
    const closedListener = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    for (const session of this.sessions) session.shutdown();
    const remaining = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const apiClosed = this.options.httpApi?.close(deadline) ?? Promise.resolve();
    await Promise.race([Promise.all([this.allClosed(), apiClosed]), new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
    clearTimeout(timer);
    for (const socket of this.sockets) socket.terminate();
    this.http.closeAllConnections();
    await closedListener;
  }

  private allClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.allClosedWaiters.push(resolve));
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refusal = this.checkUpgrade(req);
    if (refusal) {
      this.options.metrics.error(refusal.code);
      this.options.logger.info({ code: refusal.code, status: refusal.status }, 'connection refused');
      refuse(socket, refusal.status, refusal.code, refusal.message);
      return;
    }
    this.pendingUpgrades++;
    let pending = true;
    const settle = () => {
      if (!pending) return;
      pending = false;
      this.pendingUpgrades--;
    };
    // handleUpgrade answers a bad handshake itself (400) without calling back
    socket.once('close', settle);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      settle();
      this.accept(ws);
    });
  }

  private checkUpgrade(req: IncomingMessage): { status: number; code: RefusalCode; message: string } | undefined {
    if (!this.accepting) return { status: 503, code: 'SHUTTING_DOWN', message: 'the server is shutting down' };
    const path = requestPath(req.url);
    if (path === undefined) return { status: 400, code: 'BAD_REQUEST', message: 'the request target is not a valid path' };
    if (path !== '/') return { status: 404, code: 'NOT_FOUND', message: 'the WebSocket endpoint is /' };
    if (!this.options.auth.allows(req)) {
      return { status: 401, code: 'UNAUTHORIZED', message: 'a valid token is required (Authorization: Bearer TOKEN or ?token=TOKEN)' };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && this.options.allowedOrigins.length > 0 && !this.options.allowedOrigins.includes(origin)) {
      return { status: 403, code: 'ORIGIN_NOT_ALLOWED', message: 'this Origin is not allowed' };
    }
    if (this.sockets.size + this.pendingUpgrades >= this.options.maxConnections) {
      return {
        status: 503,
        code: 'TOO_MANY_CONNECTIONS',
        message: `the server is at its limit of ${this.options.maxConnections} connections; try again later`,
      };
    }
    return undefined;
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    const session = new Session({
      id: randomUUID(),
      socket: ws,
      speech: this.options.speech,
      metrics: this.options.metrics,
      logger: this.options.logger,
      limits: this.options.limits,
      onClosed: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
    ws.on('message', (data, isBinary) => session.handleMessage(toBuffer(data), isBinary));
    ws.on('error', (err) => {
      const code = (err as { code?: string }).code;
      const metricCode = code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'MESSAGE_TOO_LARGE' : 'CONNECTION_ERROR';
      this.options.metrics.error(metricCode);
      this.options.logger.info({ session: session.id, code: metricCode, reason: err.message }, 'connection error');
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      session.handleClose();
      if (this.sockets.size === 0) for (const wake of this.allClosedWaiters.splice(0)) wake();
    });
    if (!this.accepting) {
      session.start();
      session.shutdown();
      return;
    }
    session.start();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function refuse(socket: Duplex, status: number, code: RefusalCode, message: string): void {
  const headers: Record<string, string> = {};
  if (status === 503) headers['Retry-After'] = '1';
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  rejectSocket(socket, status, message, headers, code);
}
