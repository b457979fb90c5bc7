import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import { FrameSender, type SessionSocket } from './frame-sender.js';
import { MessageGate, type MessageGateLimits } from './message-gate.js';
import type { LegacyMetrics } from './metrics.js';
import { type ControlCommand, type EndReason, type ErrorCode, errorMessage, sessionEnd, sessionStart, type TextMessage } from './protocol.js';
import { SessionClock } from './session-clock.js';
import { SessionSettings } from './session-settings.js';
import { round, Utterance } from './utterance.js';
import { UtteranceQueue } from './utterance-queue.js';

export type { SessionSocket } from './frame-sender.js';

export interface SessionLimits extends MessageGateLimits {
  maxTextChars: number;
  maxQueuedTexts: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  sendHighWaterBytes: number;
  sendBufferBytes: number;
  slowConsumerMs: number;
  pacing: 'none' | 'realtime';
}

export interface SessionDeps {
  id: string;
  socket: SessionSocket;
  speech: SpeechService;
  metrics: LegacyMetrics;
  logger: Logger;
  limits: SessionLimits;
  /** Called once, when the socket has closed and everything is released. */
  onClosed(session: Session): void;
}

const OPEN = 1;
const CLOSE_GRACE_MS = 1000;

/**
 * One WebSocket connection: the protocol and its lifecycle. Texts queue and are spoken one at a
 * time (UtteranceQueue); the FrameSender delivers their frames (pause, pacing, backpressure); every
 * per-connection limit is enforced here.
 */
export class Session {
  readonly id: string;
  readonly openedAt = Date.now();
  private readonly log: Logger;
  private readonly sender: FrameSender;
  private readonly utterances: UtteranceQueue;
  private partialText = '';
  private ended = false;
  private closed = false;
  private utteranceCounter = 0;
  private readonly gate: MessageGate;
  private readonly clock: SessionClock;
  private readonly settings: SessionSettings;

  constructor(private readonly deps: SessionDeps) {
    this.id = deps.id;
    this.log = deps.logger.child({ session: deps.id });
    const { limits } = deps;
    this.gate = new MessageGate(limits);
    this.sender = new FrameSender({
      socket: deps.socket,
      pacing: limits.pacing,
      highWaterBytes: limits.sendHighWaterBytes,
      hardLimitBytes: limits.sendBufferBytes,
      slowConsumerMs: limits.slowConsumerMs,
      onSlowConsumer: (buffered) => this.slowConsumer(buffered),
      onFrame: () => {
        this.deps.metrics.frameSent();
        this.clock.touch();
      },
    });
    this.clock = new SessionClock({
      idleTimeoutMs: limits.idleTimeoutMs,
      maxSessionMs: limits.maxSessionMs,
      // a paused session counts as idle: nothing flows until the client speaks again
      isIdle: () => this.isIdle || this.sender.isPaused,
      onIdle: () => this.end('idle_timeout', 'IDLE_TIMEOUT', `no message for ${limits.idleTimeoutMs} ms`),
      onMaxDuration: () => this.end('session_timeout', 'SESSION_TIMEOUT', `session exceeded the maximum duration of ${limits.maxSessionMs} ms`),
    });
    this.settings = new SessionSettings({
      sessionId: deps.id,
      tts: deps.speech.tts,
      sender: this.sender,
      log: this.log,
      sessionEnded: () => this.ended,
      send: (message) => this.send(message),
      sendError: (code, message) => this.sendError(code, message),
    });
    this.utterances = new UtteranceQueue({
      sessionId: deps.id,
      speech: deps.speech,
      sender: this.sender,
      metrics: deps.metrics,
      log: this.log,
      utteranceEvents: () => this.settings.utteranceEvents,
      sessionEnded: () => this.ended,
      onDrained: () => this.clock.idleFrom(),
      send: (message) => this.send(message),
      sendError: (code, message, extra) => this.sendError(code, message, extra),
    });
  }

  start(): void {
    this.deps.metrics.sessionOpened();
    this.send(sessionStart(this.id));
    this.clock.start();
    this.log.debug('session started');
  }

  /** One WebSocket message from the client. Never throws. */
  handleMessage(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    try {
      this.clock.touch();
      const admitted = this.gate.admit(data, isBinary);
      if (!admitted.ok) {
        this.sendError(admitted.code, admitted.reason);
        return;
      }
      const message = admitted.message;
      switch (message.type) {
        case 'text':
          this.acceptText(message);
          break;
        case 'control':
          this.control(message.command);
          break;
        case 'configure':
          this.settings.configure(message);
          break;
        case 'ping':
          this.send({ type: 'pong', ...(message.id !== undefined ? { id: message.id } : {}), server_time_ms: Date.now() });
          break;
        case 'stats':
          this.send({ type: 'stats', ...this.stats() });
          break;
      }
    } catch (err) {
      this.log.error({ err }, 'failed to handle a client message');
      this.sendError('INTERNAL_ERROR', 'the server failed to handle this message');
    }
  }

  /** The socket closed (client went away, or after our own close). */
  handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.ended) {
      this.ended = true;
      this.cancelAll('client_disconnect', false);
      this.log.debug('client disconnected');
    }
    this.clock.stop();
    this.sender.stop();
    this.deps.metrics.sessionClosed();
    this.deps.onClosed(this);
  }

  /** Server shutdown: cancel work in flight, tell the client, close. */
  shutdown(): void {
    this.end('shutdown', undefined, undefined, 1001);
  }

  stats(): Record<string, unknown> {
    return {
      session_id: this.id,
      uptime_ms: Date.now() - this.openedAt,
      state: this.state(),
      sequence: this.sender.sequence,
      frames_sent: this.sender.sequence,
      bytes_sent: this.sender.bytesSent,
      utterances_completed: this.utterances.completedCount,
      queued: this.utterances.queued,
      buffered_bytes: this.deps.socket.bufferedAmount,
      last_first_audio_ms: this.utterances.lastFirstAudioMs ?? null,
      ...this.settings.describe(),
    };
  }

  get isIdle(): boolean {
    return this.utterances.isIdle;
  }

  private state(): 'ended' | 'paused' | 'speaking' | 'idle' {
    if (this.ended) return 'ended';
    if (this.sender.isPaused) return 'paused';
    return this.utterances.speaking ? 'speaking' : 'idle';
  }

  // --- messages

  private acceptText(message: TextMessage): void {
    const text = this.partialText + message.text;
    if (text.length > this.deps.limits.maxTextChars) {
      this.partialText = '';
      this.sendError('TEXT_TOO_LONG', `text of ${text.length} characters exceeds the limit of ${this.deps.limits.maxTextChars}`);
      return;
    }
    if (!message.is_final) {
      this.partialText = text;
      return;
    }
    if (this.utterances.busy && this.utterances.queued >= this.deps.limits.maxQueuedTexts) {
      this.sendError('QUEUE_FULL', `${this.utterances.queued} texts are already waiting (limit ${this.deps.limits.maxQueuedTexts}); text dropped`);
      return;
    }
    this.partialText = '';
    this.utteranceCounter++;
    const id = message.utterance_id ?? `${this.id.slice(0, 8)}-${this.utteranceCounter}`;
    this.utterances.add(new Utterance(id, text, message.voice ?? this.settings.voice, message.speed ?? this.settings.speed));
  }

  private control(command: ControlCommand): void {
    const received = performance.now();
    let cleared = 0;
    if (command === 'PAUSE') this.sender.pause();
    else if (command === 'RESUME') this.sender.resume();
    else {
      cleared = this.cancelAll('stopped', true);
      this.sender.reset();
    }
    this.send({
      type: 'control_ack',
      command,
      state: this.state(),
      // the last frame handed to the socket before the command took effect
      sequence: this.sender.sequence,
      ...(command === 'STOP' ? { cleared } : {}),
      latency_ms: round(performance.now() - received),
    });
  }

  /** Ends the current and every queued text with `reason` and drops a partial text; returns how many were ended. */
  private cancelAll(reason: EndReason, notify: boolean): number {
    this.partialText = '';
    return this.utterances.cancelAll(reason, notify);
  }

  /** Server-initiated end of the whole session: cancel work, optional error, session_end, close. */
  private end(reason: EndReason, code?: ErrorCode, message?: string, closeCode = 1000): void {
    if (this.ended) return;
    this.utterances.endWithSession(reason);
    if (code) this.sendError(code, message ?? reason);
    this.send(sessionEnd(this.id, reason));
    this.ended = true;
    this.sender.stop();
    this.log.info({ reason, code }, 'session ended by the server');
    this.close(closeCode, code ?? reason);
  }

  private close(code: number, reason: string): void {
    const socket = this.deps.socket;
    try {
      if (socket.readyState === OPEN) socket.close(code, reason.slice(0, 120));
    } catch (err) {
      this.log.debug({ err }, 'close failed');
    }
    // A client that does not read never completes the closing handshake.
    const timer = setTimeout(() => {
      if (!this.closed) socket.terminate();
    }, CLOSE_GRACE_MS);
    timer.unref();
  }

  /** The client read nothing for too long: it is cut off so its buffer is freed now. */
  private slowConsumer(buffered: number): void {
    if (this.ended) return;
    this.ended = true;
    this.deps.metrics.error('SLOW_CONSUMER');
    this.log.warn({ buffered, limit_ms: this.deps.limits.slowConsumerMs }, 'client stopped reading: ending session');
    this.utterances.cancelAll('slow_consumer', false);
    this.deps.socket.terminate();
  }

  // --- output

  private send(message: object): void {
    this.sender.sendJson(message);
  }

  private sendError(code: ErrorCode, message: string, extra?: Record<string, unknown>): void {
    this.deps.metrics.error(code);
    this.send(errorMessage(code, message, extra));
  }
}
