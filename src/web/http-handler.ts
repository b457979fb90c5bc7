import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody, requestPath, sendBody, sendJson } from '../ops/http-listen.js';
import type { Logger } from '../ops/logger.js';
import type { Asset } from './assets.js';
import { BUILD_COMMAND } from './bundle.js';
import type { RateLimiter } from '../ops/rate-limit.js';
import { parseTokenRequest } from './token-request.js';
import { type AssistantsProvider, chooseAssistant, listAssistants } from './assistant-choice.js';
import { issueToken, missingCredentials, type TokenConfig } from './token.js';

export const MAX_TOKEN_BODY_BYTES = 16 * 1024;

export type TokenOutcome = 'issued' | 'bad_request' | 'rate_limited' | 'unavailable' | 'error';

export interface HandlerDeps {
  config: TokenConfig;
  logger: Logger;
  limiter: RateLimiter;
  /** The built page, or undefined while it is missing (then the page answers 503). */
  assets: () => Map<string, Asset> | undefined;
  /** The configured assistants; absent or answering undefined = the single assistant AGENT_NAME. */
  assistants?: AssistantsProvider;
  /** Each token request's outcome, and the assistant it asked for once that is known to be one of ours. */
  onToken: (outcome: TokenOutcome, assistant?: string) => void;
}

/** Origins the page talks to besides itself: the LiveKit server (WebSocket, and HTTP for its validate call). */
function liveKitOrigins(serverUrl: string): string[] {
  const url = new URL(serverUrl);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  return [`${secure ? 'wss' : 'ws'}://${url.host}`, `${secure ? 'https' : 'http'}://${url.host}`];
}

export function securityHeaders(serverUrl: string): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self' ${liveKitOrigins(serverUrl).join(' ')}`,
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'microphone=(self), camera=(), geolocation=(), payment=(), usb=()',
  };
}

/** `error` is for people; `code`, when given, is stable for programs (e.g. `FORBIDDEN_CHARACTERS`). */
function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string | number> = {}, code?: string): void {
  sendJson(res, status, code === undefined ? { error: message } : { error: message, code }, headers);
}

/** The request handler of the web server: the page's files, `POST /api/token`, `GET /api/assistants`, and 404/405 for the rest. */
export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> | undefined {
  const serverUrl = deps.config.WEB_PUBLIC_LIVEKIT_URL ?? deps.config.LIVEKIT_URL;
  const baseHeaders = securityHeaders(serverUrl);

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitSeconds = deps.limiter.take(client);
    if (waitSeconds > 0) {
      deps.onToken('rate_limited');
      sendError(res, 429, `too many token requests from this address; retry in ${waitSeconds} s`, { 'Retry-After': waitSeconds }, 'RATE_LIMITED');
      return;
    }
    const unavailable = missingCredentials(deps.config);
    if (unavailable) {
      deps.onToken('unavailable');
      sendError(res, 503, unavailable, {}, 'UNAVAILABLE');
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_TOKEN_BODY_BYTES);
    } catch (error) {
      deps.onToken('bad_request');
      if (error instanceof BodyTooLargeError)
        sendError(res, 413, `the body is larger than ${MAX_TOKEN_BODY_BYTES} bytes`, { Connection: 'close' }, 'BODY_TOO_LARGE');
      else res.destroy();
      return;
    }
    let body: unknown;
    if (raw.length > 0) {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        deps.onToken('bad_request');
        sendError(res, 415, 'send the body as application/json (or no body at all)', {}, 'UNSUPPORTED_MEDIA_TYPE');
        return;
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        deps.onToken('bad_request');
        sendError(res, 400, 'the body is not valid JSON', {}, 'INVALID_JSON');
        return;
      }
    }
    const parsed = parseTokenRequest(body);
    if (!parsed.ok) {
      deps.onToken('bad_request');
      sendError(res, 400, parsed.reason, {}, parsed.code);
      return;
    }
    const choice = chooseAssistant(deps.config, deps.assistants, parsed.request);
    if (!choice.ok) {
      deps.onToken(choice.status === 503 ? 'unavailable' : 'bad_request');
      sendError(res, choice.status, choice.reason, choice.status === 503 ? { 'Retry-After': 5 } : {}, choice.code);
      return;
    }
    try {
      const details = await issueToken(deps.config, parsed.request, choice.agentName);
      deps.onToken('issued', choice.agentName);
      deps.logger.info({ room: details.roomName, assistant: choice.agentName, client }, 'participant token issued');
      sendJson(res, 200, details);
    } catch (error) {
      deps.onToken('error', choice.agentName);
      deps.logger.error({ err: error }, 'token creation failed');
      sendError(res, 500, 'the token could not be created');
    }
  }

  function handleAsset(req: IncomingMessage, res: ServerResponse, path: string): void {
    const assets = deps.assets();
    if (!assets) {
      sendBody(res, 503, `The web page is not built: run \`${BUILD_COMMAND}\` (set-up and the Docker build do), then restart the service.`, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Retry-After': 5,
      });
      return;
    }
    const asset = assets.get(path);
    if (!asset) {
      sendError(res, 404, 'not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': asset.contentType,
      'Cache-Control': asset.cacheControl,
      ETag: asset.etag,
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const wantsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = wantsGzip && asset.gzipped ? asset.gzipped : asset.body;
    if (body === asset.gzipped) headers['Content-Encoding'] = 'gzip';
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.end();
      return;
    }
    sendBody(res, 200, body, headers);
  }

  return (req, res) => {
    for (const [name, value] of Object.entries(baseHeaders)) res.setHeader(name, value);
    const path = requestPath(req.url);
    if (path === undefined) {
      sendError(res, 400, 'malformed request target', { Connection: 'close' }, 'MALFORMED_TARGET');
      return;
    }
    if (path === '/api/token') {
      if (req.method !== 'POST') {
        sendError(res, 405, 'use POST', { Allow: 'POST' });
        return;
      }
      return handleToken(req, res).catch((error: unknown) => {
        deps.onToken('error');
        deps.logger.error({ err: error }, 'token request failed');
        if (res.headersSent) res.destroy();
        else sendError(res, 500, 'internal error');
      });
    }
    if (path === '/api/assistants') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 405, 'use GET', { Allow: 'GET, HEAD' });
        return;
      }
      sendJson(res, 200, listAssistants(deps.config, deps.assistants));
      return;
    }
    if (path.startsWith('/api/')) {
      sendError(res, 404, 'not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'use GET', { Allow: 'GET, HEAD' });
      return;
    }
    handleAsset(req, res, path);
  };
}
