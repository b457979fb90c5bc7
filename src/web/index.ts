import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { Component, ComponentHealth } from '../component.js';
import type { Config } from '../config/schema.js';
import { hardenHttpServer, listen, safeHandler } from '../ops/http-listen.js';
import type { Logger } from '../ops/logger.js';
import { type Asset, loadAssets } from './assets.js';
import { buildClientBundle, bundleState, CLIENT_BUNDLE_DIR } from './bundle.js';
import { createRequestHandler, type TokenOutcome } from './http-handler.js';
import { RateLimiter } from './rate-limit.js';
import { missingCredentials, type TokenConfig } from './token.js';

export type WebConfig = TokenConfig & Pick<Config, 'WEB_HOST' | 'WEB_PORT' | 'WEB_TOKEN_RATE_LIMIT_PER_MIN'>;

export interface WebComponentOptions {
  config: WebConfig;
  logger: Logger;
  metrics: Registry;
  /** Folder of the built page; default dist/web. */
  bundleDir?: string;
  /** Build the page at start when it is missing or older than its sources (needs esbuild). Default true. */
  buildIfNeeded?: boolean;
}

export type WebComponent = Component & { address(): { host: string; port: number } | undefined };

/**
 * The web page and its token endpoint, on WEB_HOST:WEB_PORT. Ready once listening with the page loaded.
 * When the built page is missing or stale it is built at start (about a second with esbuild); if that
 * fails the token endpoint still works and the page answers 503 with what to run.
 */
export function createWebComponent(options: WebComponentOptions): WebComponent {
  const { config, metrics } = options;
  const { logger } = options;
  const bundleDir = options.bundleDir ?? CLIENT_BUNDLE_DIR;
  const tokenCounter = new Counter({
    name: 'web_token_requests_total',
    help: 'POST /api/token requests by result.',
    labelNames: ['result'] as const,
    registers: [metrics],
  });
  const tokenCounts: Record<TokenOutcome, number> = { issued: 0, bad_request: 0, rate_limited: 0, unavailable: 0, error: 0 };
  const limiter = new RateLimiter(config.WEB_TOKEN_RATE_LIMIT_PER_MIN);
  let assets: Map<string, Asset> | undefined;
  let assetProblem: string | undefined = 'not started';
  let server: Server | undefined;
  let listening = false;

  const handler = createRequestHandler({
    config,
    logger,
    limiter,
    assets: () => assets,
    onToken: (outcome) => {
      tokenCounts[outcome] += 1;
      tokenCounter.inc({ result: outcome });
    },
  });

  async function prepareAssets(): Promise<void> {
    const state = await bundleState(bundleDir);
    if ((!state.present || state.stale) && options.buildIfNeeded !== false) {
      try {
        const result = await buildClientBundle({ outDir: bundleDir });
        logger.info({ ms: result.ms, bytes: result.bytes, reason: state.present ? 'sources changed' : 'bundle missing' }, 'web page built');
      } catch (error) {
        logger.warn({ err: error }, state.present ? 'web page rebuild failed; serving the previous build' : 'web page build failed');
      }
    }
    try {
      assets = await loadAssets(bundleDir);
      assetProblem = undefined;
    } catch {
      assets = undefined;
      assetProblem = 'the web page is not built (run `npm run build:web`)';
      logger.error(assetProblem);
    }
  }

  return {
    name: 'web',

    async start() {
      await prepareAssets();
      const credentials = missingCredentials(config);
      if (credentials) logger.warn(`${credentials}; POST /api/token answers 503`);
      const srv = createServer(safeHandler(handler, { logger, name: 'web' }));
      hardenHttpServer(srv, { logger, name: 'web' });
      await listen(srv, { port: config.WEB_PORT, host: config.WEB_HOST, logger, name: 'web server', variables: 'WEB_HOST / WEB_PORT' });
      server = srv;
      listening = true;
      const addr = srv.address() as AddressInfo;
      logger.info({ host: addr.address, port: addr.port, page: assets !== undefined }, 'web server listening');
    },

    async stop(deadline) {
      const srv = server;
      if (!srv) return;
      listening = false;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeIdleConnections();
      const timer = setTimeout(() => srv.closeAllConnections(), Math.max(0, deadline - Date.now()));
      await closed;
      clearTimeout(timer);
      server = undefined;
    },

    health(): ComponentHealth {
      if (!listening) return { ready: false, detail: 'not listening' };
      if (assetProblem) return { ready: false, detail: assetProblem };
      return { ready: true, detail: 'listening' };
    },

    status() {
      const addr = server?.address() as AddressInfo | null | undefined;
      return {
        listening,
        port: addr?.port,
        page: assets !== undefined,
        credentials: missingCredentials(config) === undefined,
        tokens: { ...tokenCounts },
      };
    },

    address() {
      const addr = server?.address() as AddressInfo | null | undefined;
      return addr ? { host: addr.address, port: addr.port } : undefined;
    },
  };
}
