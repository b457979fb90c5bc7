import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../ops/logger.js';
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from '../tts/types.js';
import { UtteranceFramer } from './frames.js';
import type { LegacyMetrics } from './metrics.js';
import {
  FRAME_MS,
  audioMessage,
  errorMessage,
  parseClientMessage,
  sessionEnd,
  sessionStart,
  type ConfigureMessage,
  type ControlCommand,
  type EndReason,
  type ErrorCode,
  type TextMessage,
} from './protocol.js';
import { TokenBucket } from './rate-limit.js';
import type { SynthesisScheduler } from './scheduler.js';
import { splitSentences } from './sentences.js';

/** The part of a `ws` WebSocket a session uses. */
export interface SessionSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface SessionLimits {
  maxMessageBytes: number;
  /** Messages up to this size are read and refused with MESSAGE_TOO_LARGE; larger ones close the socket. */
  maxTextChars: number;
  maxQueuedTexts: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  idleTimeoutMs: number;
  maxSessionMs: number;
  sendBufferBytes: number;
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
  firstAudioMs?: number;
  firstSentenceSynthesisMs?: number;
  synthesisMs: number;
}

const OPEN = 1;
/** Frames sent back to back before the session yields to the event loop so PAUSE/STOP are read promptly. */
const FRAMES_PER_TURN = 4;
const CLOSE_GRACE_MS = 1000;
/** How long past its playback deadline a later sentence may wait behind new texts' first sentences. */
const LATER_SENTENCE_GRACE_MS = 5000;

/**
 * One WebSocket connection: an ordered queue of texts spoken one at a time, controls that act at
 * the next frame boundary, a gap-free sequence, and every per-connection limit.
 */
export class Session {
  readonly id: string;
  readonly openedAt = Date.now();
  private readonly log: Logger;
  private readonly queue: Utterance[] = [];
  private current: Utterance | undefined;
  private partialText = '';
  private sequence = 0;
  private paused = false;
  private resumeWaiters: Array<() => void> = [];
  private pacingOrigin: { at: number; sequence: number } | undefined;
  private ended = false;
  private closed = false;
  private utteranceCounter = 0;
  private completedUtterances = 0;
  private bytesSent = 0;
  private lastActivityAt = performance.now();
  private lastFirstAudioMs: number | undefined;
  private readonly rate: TokenBucket;
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleTimer: NodeJS.Timeout | undefined;
  private extensions = { utteranceEvents: false, binaryAudio: false };
  private defaults: { voice?: string; speed?: number } = {};

  constructor(private readonly deps: SessionDeps) {
    this.id = deps.id;
    this.log = deps.logger.child({ session: deps.id });
    this.rate = new TokenBucket(deps.limits.rateLimitPerSec, deps.limits.rateLimitBurst);
  }

  start(): void {
    this.deps.metrics.sessionOpened();
    this.send(sessionStart(this.id));
    this.scheduleIdleCheck(this.deps.limits.idleTimeoutMs);
    this.addTimer(() => this.end('session_timeout', 'SESSION_TIMEOUT', `session exceeded the maximum duration of ${this.deps.limits.maxSessionMs} ms`), this.deps.limits.maxSessionMs);
    this.log.debug('session started');
  }

  /** One WebSocket message from the client. Never throws. */
  handleMessage(data: Buffer, isBinary: boolean): void {
    if (this.ended) return;
    try {
      this.lastActivityAt = performance.now();
      if (!this.rate.tryTake()) {
        this.sendError('RATE_LIMITED', `more than ${this.deps.limits.rateLimitPerSec} messages per second (burst ${this.deps.limits.rateLimitBurst}); message dropped`);
        return;
      }
      if (data.length > this.deps.limits.maxMessageBytes) {
        this.sendError('MESSAGE_TOO_LARGE', `message of ${data.length} bytes exceeds the limit of ${this.deps.limits.maxMessageBytes} bytes`);
        return;
      }
      if (isBinary) {
        this.sendError('INVALID_MESSAGE', 'binary frames are not accepted from clients; send JSON text frames');
        return;
      }
      const parsed = parseClientMessage(data.toString('utf8'));
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
    this.wakeResumeWaiters();
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
      state: this.ended ? 'ended' : this.paused ? 'paused' : this.current && !this.current.ended ? 'speaking' : 'idle',
      sequence: this.sequence,
      frames_sent: this.sequence,
      bytes_sent: this.bytesSent,
      utterances_completed: this.completedUtterances,
      queued: this.queue.length,
      buffered_bytes: this.deps.socket.bufferedAmount,
      last_first_audio_ms: this.lastFirstAudioMs ?? null,
      utterance_events: this.extensions.utteranceEvents,
      binary_audio: this.extensions.binaryAudio,
      voice: this.defaults.voice ?? null,
      speed: this.defaults.speed ?? null,
    };
  }

  get isIdle(): boolean {
    return !this.current && this.queue.length === 0;
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
    const utterance: Utterance = {
      id: message.utterance_id ?? `${this.id.slice(0, 8)}-${this.utteranceCounter}`,
      text,
      voice: message.voice ?? this.defaults.voice,
      speed: message.speed ?? this.defaults.speed,
      receivedAt: performance.now(),
      ended: false,
      abort: new AbortController(),
      frames: 0,
      synthesisMs: 0,
    };
    this.queue.push(utterance);
    if (!this.current) this.startNext();
  }

  private control(command: ControlCommand): void {
    const received = performance.now();
    let cleared = 0;
    switch (command) {
      case 'PAUSE':
        this.paused = true;
        break;
      case 'RESUME':
        if (this.paused) {
          this.paused = false;
          this.pacingOrigin = undefined;
          this.wakeResumeWaiters();
        }
        break;
      case 'STOP':
        cleared = this.cancelAll('stopped', true);
        this.paused = false;
        this.pacingOrigin = undefined;
        this.wakeResumeWaiters();
        break;
    }
    this.send({
      type: 'control_ack',
      command,
      state: this.paused ? 'paused' : this.current && !this.current.ended ? 'speaking' : 'idle',
      // the last frame handed to the socket before the command took effect
      sequence: this.sequence,
      ...(command === 'STOP' ? { cleared } : {}),
      latency_ms: round(performance.now() - received),
    });
  }

  private configure(message: ConfigureMessage): void {
    if (message.utterance_events !== undefined) this.extensions.utteranceEvents = message.utterance_events;
    if (message.binary_audio !== undefined) this.extensions.binaryAudio = message.binary_audio;
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
      utterance_events: this.extensions.utteranceEvents,
      binary_audio: this.extensions.binaryAudio,
      voice: this.defaults.voice ?? null,
      speed: this.defaults.speed ?? null,
      sample_rate: 48_000,
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
    if (this.extensions.utteranceEvents) {
      this.send({ type: 'utterance_start', utterance_id: utterance.id, text_chars: utterance.text.length, voice: utterance.voice ?? null, speed: utterance.speed ?? null, next_sequence: this.sequence + 1 });
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
    const options = {
      ...(utterance.voice ? { voice: utterance.voice } : {}),
      ...(utterance.speed ? { lengthScale: 1 / utterance.speed } : {}),
      signal,
    };
    const source = this.sentenceSource(utterance.text, options);
    try {
      // the next sentence is synthesized while this one is delivered (one ahead, never more)
      let pending = source.next(0);
      for (;;) {
        const chunk = await pending;
        if (signal.aborted) return;
        if (!chunk) break;
        // the next sentence is due once this one's audio has played, plus a grace that lets new
        // texts' first sentences go first when the engine is saturated
        pending = source.next((chunk.pcm.length / chunk.sampleRate) * 1000 + LATER_SENTENCE_GRACE_MS);
        utterance.firstSentenceSynthesisMs ??= chunk.synthesisMs;
        utterance.synthesisMs += chunk.synthesisMs;
        this.deps.metrics.sentenceSynthesized(chunk.synthesisMs, (chunk.pcm.length / chunk.sampleRate) * 1000);
        // resample and send in short slices: the first frame leaves without waiting for the whole sentence
        const slice = Math.max(1, Math.round(chunk.sampleRate / 10));
        for (let offset = 0; offset < chunk.pcm.length; offset += slice) {
          if (!(await this.deliver(utterance, framer.push(chunk.pcm.subarray(offset, offset + slice))))) return;
        }
      }
      if (!(await this.deliver(utterance, framer.flush()))) return;
      this.finishUtterance(utterance, 'completed');
    } catch (err) {
      if (signal.aborted) return;
      this.failUtterance(utterance, 'SYNTHESIS_FAILED', 'speech synthesis failed for this text', err);
    } finally {
      if (signal.aborted || utterance.ended) source.close();
    }
  }

  /**
   * The utterance's speech, sentence by sentence. Each sentence takes a scheduler slot only while
   * it is synthesized, with a deadline: now for a text's first sentence, and for a later one the
   * end of the audio already sent plus a grace, so new texts' first audio does not wait behind
   * other sessions' later sentences, which still never starve.
   */
  private sentenceSource(text: string, options: SynthesisOptions & { signal: AbortSignal }): { next(slackMs: number): Promise<SpeechChunk | undefined>; close(): void } {
    const sentences = splitSentences(text);
    let index = 0;
    let iterator: AsyncIterator<SpeechChunk> | undefined;
    const pull = async (slackMs: number): Promise<SpeechChunk | undefined> => {
      for (;;) {
        let release: (() => void) | undefined;
        if (!iterator) {
          const sentence = sentences[index++];
          if (sentence === undefined) return undefined;
          // the slot covers the piece's first sentence; should the engine split the piece further,
          // it synthesizes the rest on its own while this one is delivered
          release = await this.deps.scheduler.acquire(slackMs, options.signal);
          iterator = this.deps.tts.synthesize(sentence, options)[Symbol.asyncIterator]();
        }
        let step: IteratorResult<SpeechChunk>;
        try {
          step = await iterator.next();
        } finally {
          release?.();
        }
        if (step.done) {
          iterator = undefined;
          continue;
        }
        return step.value;
      }
    };
    return {
      next(slackMs: number) {
        const result = pull(slackMs);
        result.catch(() => undefined); // observed by the caller; an abandoned prefetch must not be unhandled
        return result;
      },
      close() {
        void iterator?.return?.(undefined).catch(() => undefined);
      },
    };
  }

  /** Sends frames in order, honouring pause and pacing. False when the utterance was cancelled. */
  private async deliver(utterance: Utterance, frames: Buffer[]): Promise<boolean> {
    const { signal } = utterance.abort;
    for (let i = 0; i < frames.length; i++) {
      if (i > 0 && i % FRAMES_PER_TURN === 0) await nextTurn();
      for (;;) {
        while (this.paused && !signal.aborted && !this.ended) await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
        if (this.deps.limits.pacing === 'realtime') await this.waitForFrameSlot(signal);
        // a PAUSE may have arrived while waiting for the frame's slot
        if (!this.paused || signal.aborted || this.ended) break;
      }
      if (signal.aborted || this.ended) return false;
      const frame = frames[i] as Buffer;
      this.sequence++;
      if (this.extensions.binaryAudio) this.sendRaw(frame);
      else this.send(audioMessage(frame, this.sequence));
      this.deps.metrics.frameSent();
      this.lastActivityAt = performance.now();
      utterance.frames++;
      if (utterance.firstAudioMs === undefined) {
        utterance.firstSequence = this.sequence;
        utterance.firstAudioMs = round(performance.now() - utterance.receivedAt);
        this.lastFirstAudioMs = utterance.firstAudioMs;
        this.deps.metrics.firstAudio(utterance.firstAudioMs);
      }
      if (this.ended) return false;
    }
    return true;
  }

  /** Realtime pacing: frame n of a run leaves at origin + n * 20 ms; a pause or a new utterance restarts the run. */
  private async waitForFrameSlot(signal: AbortSignal): Promise<void> {
    const now = performance.now();
    if (!this.pacingOrigin || now - (this.pacingOrigin.at + (this.sequence - this.pacingOrigin.sequence) * FRAME_MS) > FRAME_MS * 5) {
      this.pacingOrigin = { at: now, sequence: this.sequence };
      return;
    }
    const due = this.pacingOrigin.at + (this.sequence - this.pacingOrigin.sequence) * FRAME_MS;
    const wait = due - now;
    if (wait <= 1) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private failUtterance(utterance: Utterance, code: ErrorCode, message: string, err: unknown): void {
    this.log.warn({ err, utterance: utterance.id, code }, message);
    this.sendError(code, message, this.extensions.utteranceEvents ? { utterance_id: utterance.id } : undefined);
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
    if (this.extensions.utteranceEvents) {
      this.send({
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
      });
    }
    this.send(sessionEnd(this.id, reason, this.extensions.utteranceEvents ? { utterance_id: utterance.id } : undefined));
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
    if (current && this.extensions.utteranceEvents) {
      this.send({ type: 'utterance_end', utterance_id: current.id, reason, frames: current.frames });
    }
    if (code) this.sendError(code, message ?? reason);
    this.send(sessionEnd(this.id, reason));
    this.ended = true;
    this.wakeResumeWaiters();
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

  // --- output

  private send(message: object): void {
    this.sendRaw(JSON.stringify(message));
  }

  private sendRaw(data: string | Buffer): void {
    const socket = this.deps.socket;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > this.deps.limits.sendBufferBytes) {
      this.slowConsumer();
      return;
    }
    socket.send(data);
    this.bytesSent += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }

  private slowConsumer(): void {
    if (this.ended) return;
    this.ended = true;
    this.deps.metrics.error('SLOW_CONSUMER');
    this.log.warn({ buffered: this.deps.socket.bufferedAmount, limit: this.deps.limits.sendBufferBytes }, 'client stopped reading: ending session');
    for (const utterance of [...(this.current ? [this.current] : []), ...this.queue.splice(0)]) this.finishUtterance(utterance, 'slow_consumer', false);
    this.wakeResumeWaiters();
    // Nothing more can be queued for this client; it is cut off so its buffer is freed now.
    this.deps.socket.terminate();
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
      // a paused session counts as idle: nothing flows until the client speaks again
      if (!this.isIdle && !this.paused) return this.scheduleIdleCheck(this.deps.limits.idleTimeoutMs);
      if (idleFor >= this.deps.limits.idleTimeoutMs - 5) {
        this.end('idle_timeout', 'IDLE_TIMEOUT', `no message for ${this.deps.limits.idleTimeoutMs} ms`);
      } else {
        this.scheduleIdleCheck(this.deps.limits.idleTimeoutMs - idleFor);
      }
    }, Math.max(10, delayMs));
  }

  private addTimer(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private wakeResumeWaiters(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const wake of waiters) wake();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
