import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { ChatEngine } from './engines.js';
import { DONE_EVENT, chatCompletionRequest, chunkEvent, completionBody, openAiError, toTurns, usage, usageEvent } from './protocol.js';

/** Fault modes: `down` = HTTP 503, `slow` = wait `delayMs` before answering, `garbage` = 200 with non-JSON data. */
export const PEER_MODES = ['ok', 'down', 'slow', 'garbage'] as const;
export type PeerMode = (typeof PEER_MODES)[number];

export interface ChatServerOptions {
  engine: ChatEngine;
  host?: string;
  port?: number;
  /** Answer length when the request sets no max_tokens; default 48. */
  defaultMaxTokens?: number;
  /** Upper bound on any request's max_tokens (keeps a 2-core machine responsive); default 128. */
  maxTokensCap?: number;
  mode?: PeerMode;
  delayMs?: number;
}

const controlRequest = z.object({ mode: z.enum(PEER_MODES).optional(), delay_ms: z.number().int().min(0).max(600_000).optional() });
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * An OpenAI-compatible chat-completions HTTP server (`POST /v1/chat/completions`, with and without
 * `stream: true` SSE, usage included), `GET /v1/models`, `GET /health`, and `POST /control` to switch
 * fault modes. The answers come from the engine given (a real model or the named stand-in).
 */
export class ChatCompletionsServer {
  mode: PeerMode;
  delayMs: number;
  requests = 0;
  private readonly server: Server;
  private readonly defaultMaxTokens: number;
  private readonly maxTokensCap: number;

  constructor(private readonly options: ChatServerOptions) {
    this.mode = options.mode ?? 'ok';
    this.delayMs = options.delayMs ?? 3000;
    this.defaultMaxTokens = options.defaultMaxTokens ?? 48;
    this.maxTokensCap = options.maxTokensCap ?? 128;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, openAiError(`internal error: ${String(error)}`, 'server_error'));
        else res.destroy();
      });
    });
  }

  /** Starts listening; `port` overrides the configured one (used to come back on the same port). */
  async listen(port = this.options.port ?? 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') {
      return send(res, 200, JSON.stringify({ status: 'ok', engine: this.options.engine.name, mode: this.mode, requests: this.requests }));
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const model = { id: this.options.engine.name, object: 'model', created: 0, owned_by: 'test-peer' };
      return send(res, 200, JSON.stringify({ object: 'list', data: [model] }));
    }
    if (req.method === 'POST' && path === '/control') {
      const parsed = controlRequest.safeParse(await readJson(req));
      if (!parsed.success) return send(res, 400, openAiError(`bad control request: ${parsed.error.message}`, 'invalid_request_error'));
      this.mode = parsed.data.mode ?? this.mode;
      this.delayMs = parsed.data.delay_ms ?? this.delayMs;
      return send(res, 200, JSON.stringify({ mode: this.mode, delay_ms: this.delayMs }));
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return this.completions(req, res);
    return send(res, 404, openAiError(`no route ${req.method} ${path}`, 'invalid_request_error'));
  }

  private async completions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const body = await readJson(req);
    if (this.mode === 'down') return send(res, 503, openAiError('test peer is in mode "down"', 'server_error'));
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.delayMs));
    if (abort.signal.aborted) return;

    const parsed = chatCompletionRequest.safeParse(body);
    if (!parsed.success) return send(res, 400, openAiError(`invalid request: ${parsed.error.message}`, 'invalid_request_error'));
    const request = parsed.data;
    const stream = request.stream === true;
    if (this.mode === 'garbage') {
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"id": broken json <<<\n\ndata: \u0000\u0001 not a chunk\n\n');
      } else {
        send(res, 200, '{"choices": [ this is not json');
      }
      return;
    }

    const envelope = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: request.model };
    const maxTokens = Math.min(request.max_completion_tokens ?? request.max_tokens ?? this.defaultMaxTokens, this.maxTokensCap);
    const generateOptions = {
      maxTokens,
      temperature: request.temperature ?? 0,
      signal: abort.signal,
      ...(request.seed != null ? { seed: request.seed } : {}),
    };
    const turns = toTurns(request);

    if (!stream) {
      const result = await this.options.engine.generate(turns, { ...generateOptions, onText: () => {} });
      if (abort.signal.aborted) return;
      return send(res, 200, completionBody(envelope, result.text, result.finishReason, usage(result.promptTokens, result.completionTokens)));
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(chunkEvent(envelope, { role: 'assistant', content: '' }, null));
    const result = await this.options.engine.generate(turns, {
      ...generateOptions,
      onText: (text) => {
        if (text.length > 0 && !res.writableEnded) res.write(chunkEvent(envelope, { content: text }, null));
      },
    });
    if (abort.signal.aborted || res.writableEnded) return;
    res.write(chunkEvent(envelope, {}, result.finishReason));
    if (request.stream_options?.include_usage) res.write(usageEvent(envelope, usage(result.promptTokens, result.completionTokens)));
    res.end(DONE_EVENT);
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads a JSON body; returns undefined for an empty, oversized or malformed one (validation reports it). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
