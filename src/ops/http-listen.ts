/**
 * One place for what every HTTP port of the service needs so that no client input can stop,
 * crash or starve it: listening with error handling, a request handler that cannot throw out,
 * a 4xx-and-close for anything the HTTP parser refuses, for upgrades and CONNECT on ports that
 * speak plain HTTP, and a safe reading of the request target.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from './logger.js';

/** Timeouts that stop slow clients (slowloris) from holding sockets; the node defaults are minutes. */
export const HTTP_TIMEOUTS = { requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 } as const;

/** How long a socket answered with an error may linger for the client to read it before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/**
 * Listens on host:port. Rejects with a ListenError naming the address (and the variables that
 * set it, when given) instead of leaving an 'error' event unhandled; once listening, later server
 * errors are logged rather than thrown.
 */
export function listen(server: Server, options: { port: number; host: string; logger: Logger; name: string; variables?: string }): Promise<void> {
  const { port, host, logger, name, variables } = options;
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${host}:${port}`;
      const fix = variables ? ` (set ${variables})` : '';
      const reason =
        err.code === 'EADDRINUSE'
          ? `${where} is already in use${fix}`
          : err.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine${fix}`
            : err.code === 'EACCES'
              ? `no permission to listen on ${where}${fix}`
              : `cannot listen on ${where}: ${err.code ?? err.message}${fix}`;
      reject(new ListenError(`${name}: ${reason}`, err.code));
    };
    const onListening = () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error({ err, server: name }, `${name} server error`));
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

/**
 * Writes a minimal HTTP error response on a raw socket and closes it (destroyed after a short
 * grace). The JSON body is `{"error": message}`, plus `code` when given (also sent as X-Refusal-Code).
 */
export function rejectSocket(socket: Duplex, status: number, message: string, headers: Record<string, string | number> = {}, code?: string): void {
  if (!socket.writable || socket.writableEnded) {
    socket.destroy();
    return;
  }
  const body = `${JSON.stringify(code ? { error: message, code } : { error: message })}\n`;
  if (code) headers = { ...headers, 'X-Refusal-Code': code };
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
  // end() lets the client read the answer; whatever it still sends must not keep the socket.
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

function clientErrorStatus(code: string | undefined): { status: 400 | 408 | 431; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: 'request headers too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'request not received in time' };
  if (code === 'HPE_INVALID_METHOD') return { status: 400, message: 'unknown request method' };
  return { status: 400, message: 'malformed request' };
}

/**
 * Hardens an HTTP server: parser errors (bad request line, target, header bytes, unknown
 * methods, oversized headers, timeouts) get a 4xx and the socket is closed; CONNECT gets a 405;
 * upgrade requests get a 400 unless `allowUpgrades` (a WebSocket server then handles 'upgrade'
 * itself and must answer bad ones); slow clients time out.
 */
export function hardenHttpServer(server: Server, options: { logger: Logger; name: string; allowUpgrades?: boolean }): void {
  const { logger, name } = options;
  server.requestTimeout = HTTP_TIMEOUTS.requestTimeout;
  server.headersTimeout = HTTP_TIMEOUTS.headersTimeout;
  server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveTimeout;
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // The parser may report the same broken stream more than once.
    if (answered.has(socket)) return;
    answered.add(socket);
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = clientErrorStatus(err.code);
    logger.debug({ server: name, code: err.code, status }, 'refused a malformed HTTP request');
    rejectSocket(socket, status, message);
  });
  if (!options.allowUpgrades) {
    server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      rejectSocket(socket, 400, 'this port does not upgrade connections');
    });
  }
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    rejectSocket(socket, 405, 'CONNECT is not supported');
  });
}

/**
 * The path of a request target, or undefined when the target is not one this server answers
 * (then reply 400). Origin-form (`/a/b?c`) is read literally, so `//x` is the path `//x` and not
 * the host `x`; absolute-form (`http://host/a`) gives its path; `*` and anything unparsable give
 * undefined. Never throws.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (target === undefined || target.length === 0) return undefined;
  try {
    if (target.startsWith('/')) return new URL(`http://localhost${target}`).pathname;
    const url = new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.pathname;
  } catch {
    return undefined;
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wraps a request handler so that a throw or a rejection answers 500 (or closes the socket when
 * the response had already started) instead of reaching the process-wide handler.
 */
export function safeHandler(handler: Handler, options: { logger: Logger; name: string }): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, name } = options;
  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    logger.error({ err, server: name, method: req.method }, `${name} request failed`);
    if (res.headersSent || res.writableEnded) {
      res.destroy();
      return;
    }
    try {
      const body = JSON.stringify({ error: 'internal error' });
      res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    } catch {
      res.destroy();
    }
  };
  return (req, res) => {
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch((err: unknown) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  };
}

/** Sends a body with its length. An error status (4xx, 5xx) also closes the connection. */
export function sendBody(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) return;
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Length': buffer.length, ...(status >= 400 ? { Connection: 'close' } : {}), ...headers });
  res.end(buffer);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  sendBody(res, status, JSON.stringify(value), { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Reads a request body of at most `limit` bytes; rejects with BodyTooLargeError past it (declared or sent). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new BodyTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Closes a server: idle connections at once, busy ones when done or at the deadline. */
export async function closeServer(server: Server, deadline: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  await closed;
  clearTimeout(timer);
}
