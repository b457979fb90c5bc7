import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { hardenHttpServer, listen, requestPath, safeHandler, sendJson } from './http-listen.js';
import type { Logger } from './logger.js';

export interface OpsServerOptions {
  host: string;
  port: number;
  app: App;
  metrics: Registry;
  logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * The ops HTTP server: liveness, readiness, Prometheus metrics and status. Also answers the
 * paths of the system legacy mode replaces (/liveness, /readiness, /metrics/summary).
 */
export class OpsServer {
  private server: Server | undefined;
  private readonly routes: Map<string, Handler>;

  constructor(private readonly options: OpsServerOptions) {
    const { app, metrics } = options;
    const health: Handler = (_req, res) => sendJson(res, 200, { status: 'ok', uptime_seconds: app.uptimeSeconds() });
    const ready: Handler = (_req, res) => {
      const report = app.readiness();
      sendJson(res, report.ready ? 200 : 503, {
        status: report.ready ? 'ready' : 'not_ready',
        uptime_seconds: app.uptimeSeconds(),
        checks: report.components,
        not_ready: report.components.filter((c) => !c.ready).map((c) => c.name),
      });
    };
    this.routes = new Map<string, Handler>([
      ['/health', health],
      ['/liveness', (_req, res) => sendJson(res, 200, { status: 'alive', uptime_seconds: app.uptimeSeconds() })],
      ['/ready', ready],
      ['/readiness', ready],
      ['/status', (_req, res) => sendJson(res, 200, app.status())],
      ['/metrics/summary', (_req, res) => sendJson(res, 200, { mode: app.mode, uptime_seconds: app.uptimeSeconds(), components: app.status().components })],
      [
        '/metrics',
        async (_req, res) => {
          const body = await metrics.metrics();
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(body);
        },
      ],
    ]);
  }

  async start(): Promise<void> {
    const { host, port, logger } = this.options;
    const server = createServer(safeHandler((req, res) => this.handle(req, res), { logger, name: 'ops' }));
    hardenHttpServer(server, { logger, name: 'ops' });
    await listen(server, { port, host, logger, name: 'ops server', variables: 'HEALTH_HOST / HEALTH_PORT' });
    this.server = server;
    logger.info({ host, port: this.address()?.port }, 'ops server listening');
  }

  address(): AddressInfo | undefined {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (path === undefined) {
      res.setHeader('connection', 'close');
      return sendJson(res, 400, { error: 'malformed request target' });
    }
    const route = this.routes.get(path);
    if (!route) return sendJson(res, 404, { error: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method not allowed', method: req.method });
    }
    await route(req, res);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
