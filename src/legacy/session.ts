import type { Logger } from '../ops/logger.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { FrameSender, type SessionSocket } from './frame-sender.js';
import { UtteranceFramer } from './frames.js';
import type { LegacyMetrics } from './metrics.js';
import {
  type ConfigureMessage,
  type ControlCommand,
  type EndReason,
  type ErrorCode,
  errorMessage,
  FRAME_MS,
  isControlSized,
  parseClientMessage,
  SAMPLE_RATE,
  sessionEnd,
  sessionStart,
  type TextMessage,
} from './protocol.js';
import { TokenBucket } from './rate-limit.js';
import type { SynthesisScheduler } from './scheduler.js';

export type { SessionSocket } from './frame-sender.js';

export interface SessionLimits {
  /** Messages up to this size are read and refused with MESSAGE_TOO_LARGE; larger ones close the socket. */
  maxMessageBytes: number;
  maxTextChars: number;
  maxQueuedTexts: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  /** PAUSE, RESUME, STOP and ping draw from their own budget, so a text flood never blocks them. */
  controlRateLimitPerSec: number;
  controlRateLimitBurst: number;
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

interface Utterance {
  id: string;
  text: string;
  voice?: string;
  speed?: number;
  receivedAt: number;
  ended: boolean;
  abort: AbortController;
  frames: number;
  firstSequence?: number;
  firstAudioAt?: number;
  firstAudioMs?: number;
  firstSentenceSynthesisMs?: number;
  synthesisMs: number;
}

const OPEN = 1;
const CLOSE_GRACE_MS = 1000;
/** How long past its playback deadline a later chunk may wait behind new texts' first chunks. */
const LATER_CHUNK_GRACE_MS = 5000;

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
  private lastActivityAt = performance.now();
  private lastFirstAudioMs: number | undefined;
  private readonly rate: TokenBucket;
  private readonly controlRate: TokenBucket;
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleTimer: NodeJS.Timeout | undefined;
  private utteranceEvents = false;
  private defaults: { voice?: string; speed?: number } = {};

  constructor(private readonly deps: SessionDeps) {
    this.id = deps.id;
    this.log = deps.logger.child({ session: deps.id });
    const { limits } = deps;
    this.rate = new TokenBucket(limits.rateLimitPerSec, limits.rateLimitBurst);
    this.controlRate = new TokenBucket(limits.controlRateLimitPerSec, limits.controlRateLimitBurst);
    this.sender = new FrameSender({
      socket: deps.socket,
      pacing: limits.pacing,
      highWaterBytes: limits.sendHighWaterBytes,
      hardLimitBytes: limits.sendBufferBytes,
      slowConsumerMs: limits.slowConsumerMs,
      onSlowConsumer: (buffered) => this.slowConsumer(buffered),
      onFrame: () => {
        this.deps.metrics.frameSent();
        this.lastActivityAt = performance.now();
      },
    });
  }

  start(): void {
    this.deps.metrics.sessionOpened();
    this.send(sessionStart(this.id));
    this.scheduleIdleCheck(this.deps.limits.idleTimeoutMs);
    const { maxSessionMs } = this.deps.limits;
    this.addTimer(() => this.end('session_timeout', 'SESSION_TIMEOUT', `session exceeded the maximum duration of ${maxSessionMs} ms`), maxSessionMs);
    this.log.debug('session started');
  }

  /** One WebSocket message from the client. Never throws. */
  handleMessage(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    try {
      this.lastActivityAt = performance.now();
      const { limits } = this.deps;
      // controls and pings are tiny: only those are parsed before the rate limit decides
      const early = !isBinary && isControlSized(data.length) ? parseClientMessage(data.toString('utf8')) : undefined;
      const isControl = early?.ok === true && (early.message.type === 'control' || early.message.type === 'ping');
      if (!(isControl ? this.controlRate : this.rate).tryTake()) {
        const [rate, burst] = isControl ? [limits.controlRateLimitPerSec, limits.controlRateLimitBurst] : [limits.rateLimitPerSec, limits.rateLimitBurst];
        this.sendError('RATE_LIMITED', `more than ${rate} ${isControl ? 'control ' : ''}messages per second (burst ${burst}); message dropped`);
        return;
      }
      if (data.length > limits.maxMessageBytes) {
        this.sendError('MESSAGE_TOO_LARGE', `message of ${data.length} bytes exceeds the limit of ${limits.maxMessageBytes} bytes`);
        return;
      }
      if (isBinary) {
        this.sendError('INVALID_MESSAGE', 'binary frames are not accepted from clients; send JSON text frames');
        return;
      }
      const parsed = early ?? parseClientMessage(data.toString('utf8'));
      if (!parsed.ok) {
        this.sendError('INVALID_MESSAGE', parsed.reason);
        return;
      }
      const message = parsed.message;
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
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.idleTimer) clearTimeout(this.idleTimer);
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
    this.queue.push({
      id: message.utterance_id ?? `${this.id.slice(0, 8)}-${this.utteranceCounter}`,
      text,
      voice: message.voice ?? this.defaults.voice,
      speed: message.speed ?? this.defaults.speed,
      receivedAt: performance.now(),
      ended: false,
      abort: new AbortController(),
      frames: 0,
      synthesisMs: 0,
    });
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
      this.scheduleIdleCheck(this.deps.limits.idleTimeoutMs);
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
    const { signal } = utterance.abort;
    if (this.utteranceEvents) {
      this.send({ type: 'utterance_start', utterance_id: utterance.id, text_chars: utterance.text.length, voice: utterance.voice ?? null, speed: utterance.speed ?? null, next_sequence: this.sender.sequence + 1 });
    }
    let sampleRate: number;
    try {
      sampleRate = await this.deps.tts.sampleRate(utterance.voice);
    } catch (err) {
      if (utterance.voice) this.failUtterance(utterance, 'VOICE_UNAVAILABLE', `voice ${JSON.stringify(utterance.voice)} is not available`, err);
      else this.failUtterance(utterance, 'WORKER_UNAVAILABLE', 'the speech engine is not available', err);
      return;
    }
    const framer = new UtteranceFramer(sampleRate);
    const onSent = (sequence: number) => this.frameSent(utterance, sequence);
    try {
      const chunks = this.deps.tts.synthesize(utterance.text, {
        ...(utterance.voice ? { voice: utterance.voice } : {}),
        ...(utterance.speed ? { lengthScale: 1 / utterance.speed } : {}),
        signal,
        // every inference takes a turn on the shared scheduler: a text's first chunk is due now,
        // a later one when the audio already made for its text has played
        acquireSlot: ({ chunkIndex, audioMsSoFar }) =>
          this.deps.scheduler.acquire(chunkIndex === 0 ? 0 : this.playbackLeftMs(utterance, audioMsSoFar), signal),
      });
      for await (const chunk of chunks) {
        if (signal.aborted) return;
        utterance.firstSentenceSynthesisMs ??= chunk.synthesisMs;
        utterance.synthesisMs += chunk.synthesisMs;
        this.deps.metrics.sentenceSynthesized(chunk.synthesisMs, (chunk.pcm.length / chunk.sampleRate) * 1000);
        // resample and send in short slices: the first frame leaves without waiting for the whole chunk
        const slice = Math.max(1, Math.round(chunk.sampleRate / 10));
        for (let offset = 0; offset < chunk.pcm.length; offset += slice) {
          if (!(await this.sender.sendFrames(framer.push(chunk.pcm.subarray(offset, offset + slice)), signal, onSent))) return;
        }
      }
      if (!(await this.sender.sendFrames(framer.flush(), signal, onSent))) return;
      this.finishUtterance(utterance, 'completed');
    } catch (err) {
      if (signal.aborted || this.ended) return;
      this.failUtterance(utterance, 'SYNTHESIS_FAILED', 'speech synthesis failed for this text', err);
    }
  }

  /** A later chunk's slack: the audio already made for its text still to play, plus a grace, ms. */
  private playbackLeftMs(utterance: Utterance, audioMsSoFar: number): number {
    const started = utterance.firstAudioAt ?? performance.now();
    return Math.max(0, started + audioMsSoFar - performance.now()) + LATER_CHUNK_GRACE_MS;
  }

  private frameSent(utterance: Utterance, sequence: number): void {
    utterance.frames++;
    if (utterance.firstAudioMs !== undefined) return;
    utterance.firstSequence = sequence;
    utterance.firstAudioAt = performance.now();
    utterance.firstAudioMs = round(utterance.firstAudioAt - utterance.receivedAt);
    this.lastFirstAudioMs = utterance.firstAudioMs;
    this.deps.metrics.firstAudio(utterance.firstAudioMs);
  }

  private failUtterance(utterance: Utterance, code: ErrorCode, message: string, err: unknown): void {
    this.log.warn({ err, utterance: utterance.id, code }, message);
    this.sendError(code, message, this.utteranceEvents ? { utterance_id: utterance.id } : undefined);
    this.finishUtterance(utterance, 'error');
  }

  /** Every accepted text ends exactly once: utterance_end (if asked for) then session_end with the reason. */
  private finishUtterance(utterance: Utterance, reason: EndReason, notify = true): void {
    if (utterance.ended) return;
    utterance.ended = true;
    utterance.abort.abort(reason);
    this.deps.metrics.utteranceEnded(reason);
    if (reason === 'completed') this.completedUtterances++;
    if (!notify) return;
    if (this.utteranceEvents) this.send(this.utteranceEnd(utterance, reason));
    this.send(sessionEnd(this.id, reason, this.utteranceEvents ? { utterance_id: utterance.id } : undefined));
  }

  private utteranceEnd(utterance: Utterance, reason: EndReason): Record<string, unknown> {
    return {
      type: 'utterance_end',
      utterance_id: utterance.id,
      reason,
      frames: utterance.frames,
      first_sequence: utterance.firstSequence ?? null,
      last_sequence: utterance.frames > 0 ? (utterance.firstSequence ?? 0) + utterance.frames - 1 : null,
      first_audio_ms: utterance.firstAudioMs ?? null,
      first_sentence_synthesis_ms: utterance.firstSentenceSynthesisMs !== undefined ? round(utterance.firstSentenceSynthesisMs) : null,
      synthesis_ms: round(utterance.synthesisMs),
      audio_ms: utterance.frames * FRAME_MS,
    };
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
    if (current && this.utteranceEvents) this.send(this.utteranceEnd(current, reason));
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

  // --- timers

  private scheduleIdleCheck(delayMs: number): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.ended) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.ended) return;
      const idleFor = performance.now() - this.lastActivityAt;
      const { idleTimeoutMs } = this.deps.limits;
      // a paused session counts as idle: nothing flows until the client speaks again
      if (!this.isIdle && !this.sender.isPaused) return this.scheduleIdleCheck(idleTimeoutMs);
      if (idleFor >= idleTimeoutMs - 5) this.end('idle_timeout', 'IDLE_TIMEOUT', `no message for ${idleTimeoutMs} ms`);
      else this.scheduleIdleCheck(idleTimeoutMs - idleFor);
    }, Math.max(10, delayMs));
  }

  private addTimer(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
