import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { z } from 'zod';

/**
 * A client of the legacy protocol (used by the CLI, the benchmark and the tests). It validates
 * what the server sends, keeps every message in order, and lets callers wait for one.
 */

const ServerMessage = z.looseObject({ type: z.string() });
export type ServerMessage = z.infer<typeof ServerMessage> & Record<string, unknown>;

/** An audio frame as received: JSON `audio` messages and negotiated binary frames look the same here. */
export interface ReceivedFrame {
  pcm: Buffer;
  sequence: number;
  receivedAt: number;
}

export interface ConnectOptions {
  token?: string;
  /** Send the token as `?token=` instead of an Authorization header. */
  tokenInQuery?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

export class LegacyClient extends EventEmitter {
  readonly messages: Array<ServerMessage & { receivedAt: number }> = [];
  readonly frames: ReceivedFrame[] = [];
  sessionId = '';
  closeInfo: { code: number; reason: string } | undefined;
  /** Keep received frames in `frames` (tests); long-running callers listen to 'frame' instead. */
  retainFrames = true;
  private binarySequence = 0;
  private waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    super();
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.emit('close', this.closeInfo);
      this.wake();
    });
    socket.on('error', (err) => this.emit('socket-error', err));
  }

  /** Opens the socket and resolves once `session_start` arrived. */
  static connect(url: string, options: ConnectOptions = {}): Promise<LegacyClient> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...options.headers };
    if (options.token && options.tokenInQuery) target.searchParams.set('token', options.token);
    else if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(target, { headers, handshakeTimeout: options.timeoutMs ?? 5000, perMessageDeflate: false });
      const client = new LegacyClient(socket);
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        socket.terminate();
        reject(err);
      };
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          let reason = body;
          try {
            const parsed = JSON.parse(body) as { code?: string; error?: string };
            reason = `${parsed.code ?? ''}: ${parsed.error ?? body}`;
          } catch {
            /* body was not JSON */
          }
          fail(new ConnectError(`server refused the connection (HTTP ${res.statusCode}) ${reason}`.trim(), res.statusCode, body));
        });
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'ECONNREFUSED' ? `nothing is listening at ${url}` : err.message;
        fail(new ConnectError(`cannot connect to ${url}: ${why}`));
      });
      socket.once('close', () => fail(new ConnectError(`the server at ${url} closed the connection before the session started`)));
      client
        .waitFor((m) => m.type === 'session_start', options.timeoutMs ?? 5000)
        .then(
          (start) => {
            if (settled) return;
            settled = true;
            client.sessionId = String(start['session_id']);
            resolve(client);
          },
          (err: Error) => fail(err),
        );
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: object | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  say(text: string, extra: Record<string, unknown> = {}): void {
    this.send({ type: 'text', text, ...extra });
  }

  control(command: 'PAUSE' | 'RESUME' | 'STOP'): void {
    this.send({ type: 'control', command });
  }

  /** Resolves with the first message (from index `from`) matching `predicate`; rejects on timeout or close. */
  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<ServerMessage & { receivedAt: number }> {
    const deadline = Date.now() + timeoutMs;
    let index = from;
    for (;;) {
      for (; index < this.messages.length; index++) {
        const message = this.messages[index];
        if (message && predicate(message)) return message;
      }
      if (this.closeInfo) throw new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a message`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.waiters.delete(done);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** Resolves once the socket closed (immediately if it already has). */
  closed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
      this.once('close', (info: { code: number; reason: string }) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
  }

  terminate(): void {
    this.socket.terminate();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    const receivedAt = performance.now();
    if (isBinary) {
      const frame = { pcm: data, sequence: ++this.binarySequence, receivedAt };
      if (this.retainFrames) this.frames.push(frame);
      this.emit('frame', frame);
      this.wake();
      return;
    }
    let parsed: ServerMessage;
    try {
      parsed = ServerMessage.parse(JSON.parse(data.toString('utf8'))) as ServerMessage;
    } catch {
      this.emit('protocol-error', new Error('the server sent a message that is not a JSON object with a type'));
      return;
    }
    const message = Object.assign(parsed, { receivedAt });
    if (message.type === 'audio') {
      const frame = { pcm: Buffer.from(String(message['pcm']), 'base64'), sequence: Number(message['sequence']), receivedAt };
      this.binarySequence = frame.sequence;
      if (this.retainFrames) this.frames.push(frame);
      this.emit('frame', frame);
      // audio messages are kept without their payload so long sessions stay small
      message['pcm'] = undefined;
    }
    this.messages.push(message);
    this.emit('message', message);
    this.wake();
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
