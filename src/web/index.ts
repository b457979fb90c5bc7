import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import type { Component, ComponentHealth } from '../component.js';
import { PROJECT_ROOT } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { closeServer, hardenHttpServer, listen, safeHandler } from '../ops/http-listen.js';
import type { Logger } from '../ops/logger.js';
import { byLabel } from '../ops/metrics.js';
import { type Asset, loadAssets } from './assets.js';
import { BUILD_COMMAND, CLIENT_BUNDLE_DIR, missingBundleFiles } from './bundle.js';
import type { AssistantsProvider } from './assistant-choice.js';
import { createRequestHandler, type TokenOutcome } from './http-handler.js';
import { RateLimiter } from '../ops/rate-limit.js';
import { missingCredentials, type TokenConfig } from './token.js';

export type { AssistantsProvider, WebAssistant } from './assistant-choice.js';

export type WebConfig = TokenConfig & Pick<Config, 'WEB_HOST' | 'WEB_PORT' | 'WEB_TOKEN_RATE_LIMIT_PER_MIN'>;

export interface WebComponentOptions {
  config: WebConfig;
  logger: Logger;
  metrics: Registry;
  /** Folder of the built page; default dist/web. */
  bundleDir?: string;
  /**
   * The assistants of ASSISTANTS_FILE, asked at every request; absent (or answering undefined)
   * = the single assistant AGENT_NAME. `() => source.current().assistants` fits.
   */
  assistants?: AssistantsProvider;
}

export type WebComponent = Component & { address(): { host: string; port: number } | undefined };

const TOKEN_OUTCOMES: readonly TokenOutcome[] = ['issued', 'bad_request', 'rate_limited', 'unavailable', 'error'];

/**
 * The web page and its token endpoint, on WEB_HOST:WEB_PORT. The page is built beforehand
 * (`npm run build:web`: set-up and the Docker build run it) and only read here, once at start.
 *
 * Ready once listening. A missing page does not make it unready: the token endpoint (which
 * LiveKit's own frontends use) works without it, and no restart could build it. The page then
 * answers 503 naming `npm run build:web`, the start log says so at error level, and /status
 * shows `page: false` with `page_problem` (docs/web.md).
 */
export function createWebComponent(options: WebComponentOptions): WebComponent {
  const { config, metrics } = options;
  const { logger } = options;
  const bundleDir = options.bundleDir ?? CLIENT_BUNDLE_DIR;
  const tokenCounter = new Counter({
    name: 'web_token_requests_total',
    help: 'POST /api/token requests by result, and by assistant once it is known to be a configured one ("" before).',
    labelNames: ['result', 'assistant'] as const,
    registers: [metrics],
  });
  const limiter = new RateLimiter(config.WEB_TOKEN_RATE_LIMIT_PER_MIN);
  let assets: Map<string, Asset> | undefined;
  /** Why there is no page (set at start). */
  let pageProblem: string | undefined;
  let server: Server | undefined;
  let listening = false;

  const handler = createRequestHandler({
    config,
    logger,
    limiter,
    assets: () => assets,
    ...(options.assistants ? { assistants: options.assistants } : {}),
    onToken: (outcome, assistant) => tokenCounter.inc({ result: outcome, assistant: assistant ?? '' }),
  });

  /** Reads the built page into memory, or records why there is none. Never builds it. */
  async function loadPage(): Promise<void> {
    const inProject = relative(PROJECT_ROOT, bundleDir);
    const dir = inProject && !inProject.startsWith('..') ? inProject : bundleDir;
    const missing = await missingBundleFiles(bundleDir);
    assets = undefined;
    if (missing.length > 0) {
      pageProblem = `the web page is not built: ${missing.join(', ')} missing from ${dir}; run \`${BUILD_COMMAND}\``;
    } else {
      try {
        assets = await loadAssets(bundleDir);
        pageProblem = undefined;
      } catch (err) {
        pageProblem = `the web page in ${dir} cannot be read (${(err as Error).message}); run \`${BUILD_COMMAND}\``;
      }
    }
    if (pageProblem) logger.error(`${pageProblem}; the page answers 503 until then, POST /api/token works`);
  }

  return {
    name: 'web',

    async start() {
      await loadPage();
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
      await closeServer(srv, deadline);
      server = undefined;
    },

    health(): ComponentHealth {
      if (!listening) return { ready: false, detail: 'not listening' };
      if (pageProblem) return { ready: true, detail: `listening without the page (run \`${BUILD_COMMAND}\`)` };
      return { ready: true, detail: 'listening' };
    },

    status() {
      const addr = server?.address() as AddressInfo | null | undefined;
      const counted = byLabel(tokenCounter, 'result');
      return {
        listening,
        port: addr?.port,
        page: assets !== undefined,
        ...(pageProblem ? { page_problem: pageProblem } : {}),
        credentials: missingCredentials(config) === undefined,
        tokens: Object.fromEntries(TOKEN_OUTCOMES.map((outcome) => [outcome, counted[outcome] ?? 0])),
      };
    },

    address() {
      const addr = server?.address() as AddressInfo | null | undefined;
      return addr ? { host: addr.address, port: addr.port } : undefined;
    },
  };
}
