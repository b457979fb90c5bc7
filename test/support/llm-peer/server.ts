import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createChatHandler } from '../../../src/local-models/llm/chat-server.js';
import { openAiError } from '../../../src/local-models/llm/protocol.js';
import { createLogger } from '../../../src/ops/logger.js';
import type { ChatEngine } from './engines.js';

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

/**
 * The product's OpenAI-compatible chat handler (src/local-models/llm/chat-server.ts) behind a switch of
 * fault modes for tests: `POST /control {"mode","delay_ms"}` changes the mode; in a mode other than `ok`,
 * chat completions fail the chosen way instead of reaching the engine.
 */
export class ChatCompletionsServer {
  mode: PeerMode;
  delayMs: number;
  requests = 0;
  private readonly server: Server;

  constructor(private readonly options: ChatServerOptions) {
    this.mode = options.mode ?? 'ok';
    this.delayMs = options.delayMs ?? 3000;
    const { handle } = createChatHandler({
      engine: options.engine,
      logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      defaultMaxTokens: options.defaultMaxTokens ?? 48,
      maxTokensCap: options.maxTokensCap ?? 128,
      maxInFlight: 64,
    });
    this.server = createServer((req, res) => {
      this.route(req, res, handle).catch((error: unknown) => {
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

  private async route(req: IncomingMessage, res: ServerResponse, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/control') {
      const parsed = controlRequest.safeParse(await readJson(req));
      if (!parsed.success) return send(res, 400, openAiError(`bad control request: ${parsed.error.message}`, 'invalid_request_error'));
      this.mode = parsed.data.mode ?? this.mode;
      this.delayMs = parsed.data.delay_ms ?? this.delayMs;
      return send(res, 200, JSON.stringify({ mode: this.mode, delay_ms: this.delayMs }));
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      this.requests++;
      if (this.mode === 'down') return send(res, 503, openAiError('test peer is in mode "down"', 'server_error'));
      if (this.mode === 'garbage') return this.garbage(req, res);
      if (this.mode === 'slow') {
        const gone = new Promise<void>((resolve) => res.once('close', resolve));
        await Promise.race([new Promise((r) => setTimeout(r, this.delayMs)), gone]);
        if (res.destroyed) return;
      }
    }
    return handle(req, res);
  }

  private async garbage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as { stream?: unknown } | undefined;
    if (body?.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"id": broken json <<<\n\ndata: \u0000\u0001 not a chunk\n\n');
    } else {
      send(res, 200, '{"choices": [ this is not json');
    }
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
