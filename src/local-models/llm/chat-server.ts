import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, closeServer, hardenHttpServer, listen, readBody, requestPath, safeHandler, sendBody, sendJson } from '../../ops/http-listen.js';
import type { Logger } from '../../ops/logger.js';
import type { ChatEngine } from './llama-engine.js';
import { DONE_EVENT, chatCompletionRequest, chunkEvent, completionBody, openAiError, toTurns, usage, usageEvent } from './protocol.js';

export interface ChatHandlerOptions {
  engine: ChatEngine;
  logger: Logger;
  /** Answer length when a request sets no max_tokens. */
  defaultMaxTokens: number;
  /** Upper bound on any request's max_tokens. */
  maxTokensCap: number;
  /** Requests generated or waiting at once; more get 429. */
  maxInFlight: number;
  /** Largest request body (the whole conversation), bytes. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Counters shown on /health and by the supervisor's status. */
export interface ChatServerStats {
  requests: number;
  inFlight: number;
  refused: number;
}

/**
 * OpenAI-compatible chat completions over HTTP: `POST /v1/chat/completions` (plain and `stream: true`
 * server-sent events, usage included on request), `GET /v1/models`, `GET /health`. A client that goes
 * away stops its generation.
 */
export function createChatHandler(options: ChatHandlerOptions): {
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  stats: ChatServerStats;
} {
  const { engine, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const stats: ChatServerStats = { requests: 0, inFlight: 0, refused: 0 };
  const error = (res: ServerResponse, status: number, message: string, type: string, headers: Record<string, string | number> = {}) =>
    sendBody(res, status, openAiError(message, type), { 'Content-Type': 'application/json; charset=utf-8', ...headers });

  async function completions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    if (stats.inFlight >= options.maxInFlight) {
      stats.refused++;
      return error(res, 429, `the local language model is busy (${stats.inFlight} requests in progress); retry shortly`, 'rate_limit_error', {
        'Retry-After': 1,
      });
    }
    stats.inFlight++;
    try {
      await answer(req, res);
    } finally {
      stats.inFlight--;
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, maxBodyBytes)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLargeError) return error(res, 413, `request body over ${maxBodyBytes} bytes`, 'invalid_request_error');
      return error(res, 400, 'the request body is not JSON', 'invalid_request_error');
    }
    const parsed = chatCompletionRequest.safeParse(body);
    if (!parsed.success)
      return error(
        res,
        400,
        `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
        'invalid_request_error',
      );
    const request = parsed.data;
    const turns = toTurns(request);
    if (!turns.some((t) => t.role === 'user')) return error(res, 400, 'invalid request: messages has no user message', 'invalid_request_error');

    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const envelope = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: engine.name };
    const generateOptions = {
      maxTokens: Math.min(request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens, options.maxTokensCap),
      temperature: request.temperature ?? 0,
      signal: abort.signal,
      ...(request.seed != null ? { seed: request.seed } : {}),
    };
    const started = performance.now();

    if (request.stream !== true) {
      const result = await engine.generate(turns, { ...generateOptions, onText: () => {} });
      if (abort.signal.aborted) return;
      logger.debug({ ms: Math.round(performance.now() - started), tokens: result.completionTokens, cachedTokens: result.cachedTokens }, 'chat completion');
      return sendBody(res, 200, completionBody(envelope, result.text, result.finishReason, usage(result)), {
        'Content-Type': 'application/json; charset=utf-8',
      });
    }

    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write(chunkEvent(envelope, { role: 'assistant', content: '' }, null));
    let firstTokenMs: number | undefined;
    const result = await engine.generate(turns, {
      ...generateOptions,
      onText: (text) => {
        if (text.length === 0 || res.writableEnded) return;
        firstTokenMs ??= Math.round(performance.now() - started);
        res.write(chunkEvent(envelope, { content: text }, null));
      },
    });
    if (abort.signal.aborted || res.writableEnded) return;
    res.write(chunkEvent(envelope, {}, result.finishReason));
    if (request.stream_options?.include_usage) res.write(usageEvent(envelope, usage(result)));
    res.end(DONE_EVENT);
    logger.debug(
      {
        firstTokenMs,
        ms: Math.round(performance.now() - started),
        tokens: result.completionTokens,
        promptTokens: result.promptTokens,
        cachedTokens: result.cachedTokens,
      },
      'chat completion streamed',
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (path === undefined) return error(res, 400, 'malformed request target', 'invalid_request_error');
    if (path === '/v1/chat/completions') {
      if (req.method !== 'POST') return error(res, 405, 'use POST', 'invalid_request_error', { Allow: 'POST' });
      return completions(req, res);
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: engine.name, object: 'model', created: 0, owned_by: 'voice-orchestrator' }] });
    }
    if (req.method === 'GET' && path === '/health') {
      return sendJson(res, 200, { status: 'ok', model: engine.name, memory_bytes: process.memoryUsage().rss, ...stats });
    }
    return error(res, 404, `no route ${req.method} ${path}`, 'invalid_request_error');
  }

  return { handle, stats };
}

export interface ChatServer {
  readonly port: number;
  readonly stats: ChatServerStats;
  /** Stops accepting, lets answers in progress finish until `deadline` (epoch ms), then cuts the rest. */
  stop(deadline?: number): Promise<void>;
}

/** Serves `createChatHandler` on host:port, hardened like every port of the service. */
export async function startChatServer(options: ChatHandlerOptions & { host: string; port: number }): Promise<ChatServer> {
  const { handle, stats } = createChatHandler(options);
  const name = 'local LLM';
  const server: Server = createServer(safeHandler(handle, { logger: options.logger, name }));
  hardenHttpServer(server, { logger: options.logger, name });
  await listen(server, { host: options.host, port: options.port, logger: options.logger, name, variables: 'LOCAL_MODELS_HOST, LOCAL_LLM_PORT' });
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    stop: (deadline = Date.now() + 5000) => closeServer(server, deadline),
  };
}
