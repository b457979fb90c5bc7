import type { Logger } from '../ops/logger.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { FrameSender, type SessionSocket } from './frame-sender.js';
import { MessageGate, type MessageGateLimits } from './message-gate.js';
import type { LegacyMetrics } from './metrics.js';
import {
  type ConfigureMessage,
  type ControlCommand,
  type EndReason,
  type ErrorCode,
  errorMessage,
  FRAME_MS,
  SAMPLE_RATE,
  sessionEnd,
  sessionStart,
  type TextMessage,
} from './protocol.js';
import type { SynthesisScheduler } from './scheduler.js';
import { SessionClock } from './session-clock.js';
import { speak } from './speaker.js';
import { round, Utterance } from './utterance.js';

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
  tts: SpeechSynthesizer;
  scheduler: SynthesisScheduler;
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
 * time; the FrameSender delivers their frames (pause, pacing, backpressure); every
 * per-connection limit is enforced here.
 */
export class Session {
  readonly id: string;
  readonly openedAt = Date.now();
  private readonly log: Logger;
  private readonly queue: Utterance[] = [];
  private readonly sender: FrameSender;
  private current: Utterance | undefined;
  private partialText = '';
  private ended = false;
  private closed = false;
  private utteranceCounter = 0;
  private completedUtterances = 0;
  private lastFirstAudioMs: number | undefined;
  private readonly gate: MessageGate;
  private readonly clock: SessionClock;
  private utteranceEvents = false;
  private defaults: { voice?: string; speed?: number } = {};

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
          this.configure(message);
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
      utterances_completed: this.completedUtterances,
      queued: this.queue.length,
      buffered_bytes: this.deps.socket.bufferedAmount,
      last_first_audio_ms: this.lastFirstAudioMs ?? null,
      utterance_events: this.utteranceEvents,
      binary_audio: this.sender.binaryAudio,
      voice: this.defaults.voice ?? null,
      speed: this.defaults.speed ?? null,
    };
  }

  get isIdle(): boolean {
    return !this.current && this.queue.length === 0;
  }

  private state(): 'ended' | 'paused' | 'speaking' | 'idle' {
    if (this.ended) return 'ended';
    if (this.sender.isPaused) return 'paused';
    return this.current && !this.current.ended ? 'speaking' : 'idle';
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
    if (this.current && this.queue.length >= this.deps.limits.maxQueuedTexts) {
      this.sendError('QUEUE_FULL', `${this.queue.length} texts are already waiting (limit ${this.deps.limits.maxQueuedTexts}); text dropped`);
      return;
    }
    this.partialText = '';
    this.utteranceCounter++;
    const id = message.utterance_id ?? `${this.id.slice(0, 8)}-${this.utteranceCounter}`;
    this.queue.push(new Utterance(id, text, message.voice ?? this.defaults.voice, message.speed ?? this.defaults.speed));
    if (!this.current) this.startNext();
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

  private configure(message: ConfigureMessage): void {
    if (message.utterance_events !== undefined) this.utteranceEvents = message.utterance_events;
    if (message.binary_audio !== undefined) this.sender.binaryAudio = message.binary_audio;
    if (message.speed !== undefined) this.defaults.speed = message.speed;
    const voice = message.voice;
    if (voice === undefined) {
      this.sendConfigured();
      return;
    }
    // the voice becomes the default only once it is known to load; the reply waits for that
    this.deps.tts.sampleRate(voice).then(
      () => {
        this.defaults.voice = voice;
        this.sendConfigured();
      },
      (err: unknown) => {
        this.log.info({ err, voice }, 'requested voice is not available');
        const kept = this.defaults.voice ? JSON.stringify(this.defaults.voice) : 'the default voice';
        this.sendError('VOICE_UNAVAILABLE', `voice ${JSON.stringify(voice)} is not available; keeping ${kept}`);
        this.sendConfigured();
      },
    );
  }

  private sendConfigured(): void {
    if (this.ended) return;
    this.send({
      type: 'configured',
      session_id: this.id,
      utterance_events: this.utteranceEvents,
      binary_audio: this.sender.binaryAudio,
      voice: this.defaults.voice ?? null,
      speed: this.defaults.speed ?? null,
      sample_rate: SAMPLE_RATE,
      frame_ms: FRAME_MS,
    });
  }

  // --- speaking

  private startNext(): void {
    const next = this.queue.shift();
    this.current = next;
    if (!next) {
      this.clock.idleFrom();
      return;
    }
    void this.speak(next).finally(() => {
      if (this.current === next) {
        this.current = undefined;
        if (!this.ended) this.startNext();
      }
    });
  }

  private async speak(utterance: Utterance): Promise<void> {
    if (this.utteranceEvents) {
      this.send({
        type: 'utterance_start',
        utterance_id: utterance.id,
        text_chars: utterance.text.length,
        voice: utterance.voice ?? null,
        speed: utterance.speed ?? null,
        next_sequence: this.sender.sequence + 1,
      });
    }
    const outcome = await speak(utterance, {
      tts: this.deps.tts,
      scheduler: this.deps.scheduler,
      sender: this.sender,
      onFrame: (u, sequence) => {
        if (!u.frameSent(sequence) || u.firstAudioMs === undefined) return;
        this.lastFirstAudioMs = u.firstAudioMs;
        this.deps.metrics.firstAudio(u.firstAudioMs);
      },
    });
    if (outcome.kind === 'completed') this.finishUtterance(utterance, 'completed');
    else if (outcome.kind === 'failed' && !this.ended && !utterance.ended) this.failUtterance(utterance, outcome.code, outcome.message, outcome.err);
  }

  private failUtterance(utterance: Utterance, code: ErrorCode, message: string, err: unknown): void {
    this.log.warn({ err, utterance: utterance.id, code }, message);
    this.sendError(code, message, this.utteranceEvents ? { utterance_id: utterance.id } : undefined);
    this.finishUtterance(utterance, 'error');
  }

  /** Every accepted text ends exactly once: utterance_end (if asked for) then session_end with the reason. */
  private finishUtterance(utterance: Utterance, reason: EndReason, notify = true): void {
    if (!utterance.end(reason)) return;
    this.deps.metrics.utteranceEnded(reason);
    if (reason === 'completed') this.completedUtterances++;
    if (!notify) return;
    if (this.utteranceEvents) this.send(utterance.endMessage(reason));
    this.send(sessionEnd(this.id, reason, this.utteranceEvents ? { utterance_id: utterance.id } : undefined));
  }

  /** Ends the current and every queued text with `reason`; returns how many were ended. */
  private cancelAll(reason: EndReason, notify: boolean): number {
    const all = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    for (const utterance of all) this.finishUtterance(utterance, reason, notify);
    this.partialText = '';
    return all.length;
  }

  /** Server-initiated end of the whole session: cancel work, optional error, session_end, close. */
  private end(reason: EndReason, code?: ErrorCode, message?: string, closeCode = 1000): void {
    if (this.ended) return;
    const current = this.current && !this.current.ended ? this.current : undefined;
    // queued texts end without their own session_end: one session_end tells the client the session is over
    for (const queued of this.queue.splice(0)) this.finishUtterance(queued, reason, false);
    if (current) this.finishUtterance(current, reason, false);
    if (current && this.utteranceEvents) this.send(current.endMessage(reason));
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
    for (const utterance of [...(this.current ? [this.current] : []), ...this.queue.splice(0)]) this.finishUtterance(utterance, 'slow_consumer', false);
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
