import type { Socket } from 'node:net';
import type { Logger } from '../ops/logger.js';
import { TokenBucket } from '../ops/rate-limit.js';
import { type DeliveryLimits, writeWithBackpressure } from '../speech/delivery.js';
import type { Protocol } from '../speech/metrics.js';
import type { SpeechService } from '../speech/service.js';
import { encodeEvent, EventReader, FramingError, type FramingLimits, type WyomingEvent } from './framing.js';
import { resolveVoice, type SpeechTarget, takeSentences } from './text.js';

export interface ConnectionLimits extends FramingLimits {
  idleTimeoutMs: number;
  ratePerSec: number;
  rateBurst: number;
  /** Texts (`synthesize` events) waiting behind the one being spoken (LEGACY_MAX_QUEUED_TEXTS). */
  maxQueued: number;
  delivery: DeliveryLimits;
}

export interface ConnectionDeps {
  socket: Socket;
  speech: SpeechService;
  /** The `protocol` label of its metrics: `wyoming` for Home Assistant and others, `agent` for our job processes. */
  protocol: Protocol;
  limits: ConnectionLimits;
  log: Logger;
  info(): Promise<Record<string, unknown>>;
}

/** Samples per `audio-chunk` event (as wyoming-piper sends). */
const SAMPLES_PER_CHUNK = 1024;

/** A `synthesize-start` ... `synthesize-stop` text stream in progress. */
interface TextStream {
  target: Record<string, unknown> | undefined;
  /** Text received but not yet cut into whole sentences. */
  partial: string;
  /** Whole sentences waiting to be spoken. */
  ready: string;
  chars: number;
  stopped: boolean;
  draining: boolean;
}

/**
 * One Wyoming client: `describe` -> `info`; `synthesize` -> `audio-start`, `audio-chunk`s as
 * sentences are synthesized, `audio-stop`; a `synthesize-start` / `synthesize-chunk` /
 * `synthesize-stop` stream is spoken sentence by sentence as whole sentences arrive (each as
 * `audio-start` ... `audio-stop`), then `synthesize-stopped`. Answers go out in request order.
 */
export class WyomingConnection {
  private readonly reader: EventReader;
  private readonly rate: TokenBucket;
  private readonly abort = new AbortController();
  private tail: Promise<void> = Promise.resolve();
  /** `synthesize` texts not yet started. */
  private queued = 0;
  /** Tasks enqueued and not finished (the connection is not idle while any is). */
  private pending = 0;
  private stream: TextStream | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: ConnectionDeps) {
    this.reader = new EventReader(deps.limits);
    this.rate = new TokenBucket(deps.limits.ratePerSec, deps.limits.rateBurst);
    const { socket } = deps;
    socket.on('data', (bytes: Buffer) => this.receive(bytes));
    socket.on('close', () => this.shutdown());
    socket.on('error', () => socket.destroy());
    this.touch();
  }

  /** Cancels work in flight and closes the socket (server shutdown, idle timeout). */
  close(): void {
    this.abort.abort(new Error('connection closed'));
    this.deps.socket.end();
    setTimeout(() => this.deps.socket.destroy(), 1000).unref();
  }

  private receive(bytes: Buffer): void {
    if (this.closed) return;
    this.touch();
    let events: WyomingEvent[];
    try {
      events = this.reader.push(bytes);
    } catch (err) {
      const framing = err instanceof FramingError ? err : new FramingError('unreadable event', 'malformed_event');
      this.deps.log.info({ code: framing.code, reason: framing.message }, 'wyoming client sent a broken event; closing');
      this.sendError(framing.code, framing.message);
      this.closed = true;
      this.close();
      return;
    }
    for (const event of events) this.handle(event);
  }

  private handle(event: WyomingEvent): void {
    if (!this.rate.tryTake()) {
      this.sendError('rate_limited', `more than ${this.deps.limits.ratePerSec} events per second; event dropped`);
      return;
    }
    const { data } = event;
    switch (event.type) {
      case 'describe':
        this.enqueue(async () => this.write(encodeEvent('info', await this.deps.info())));
        return;
      case 'ping':
        this.enqueue(async () => this.write(encodeEvent('pong', { text: data['text'] ?? null })));
        return;
      case 'synthesize':
        // inside a stream, `synthesize` repeats the streamed text for older servers: ignore it
        if (this.stream) return;
        this.synthesize(data);
        return;
      case 'synthesize-start':
        this.stream = { target: asObject(data['voice']), partial: '', ready: '', chars: 0, stopped: false, draining: false };
        return;
      case 'synthesize-chunk':
        this.streamChunk(data['text']);
        return;
      case 'synthesize-stop':
        if (!this.stream) {
          this.sendError('no_stream', 'synthesize-stop without synthesize-start');
          return;
        }
        this.stream.stopped = true;
        this.stream.ready += this.stream.partial;
        this.stream.partial = '';
        this.drainStream(this.stream);
        return;
      default:
      // events of other domains (or newer versions) are dropped, as the protocol asks
    }
  }

  private synthesize(data: Record<string, unknown>): void {
    const text = data['text'];
    if (typeof text !== 'string') {
      this.sendError('invalid_event', 'synthesize needs "text" (a string)');
      return;
    }
    if (text.length > this.deps.speech.maxTextChars) {
      this.sendError('text_too_long', `text of ${text.length} characters exceeds the limit of ${this.deps.speech.maxTextChars}`);
      return;
    }
    if (this.queued >= this.deps.limits.maxQueued) {
      this.sendError('queue_full', `${this.queued} texts are already waiting; text dropped`);
      return;
    }
    this.queued++;
    this.enqueue(async () => {
      this.queued--;
      const target = await this.target(asObject(data['voice']));
      if (target) await this.speak(text, target);
    });
  }

  private streamChunk(text: unknown): void {
    const stream = this.stream;
    if (!stream) {
      this.sendError('no_stream', 'synthesize-chunk without synthesize-start');
      return;
    }
    if (typeof text !== 'string') {
      this.sendError('invalid_event', 'synthesize-chunk needs "text" (a string)');
      return;
    }
    stream.chars += text.length;
    if (stream.chars > this.deps.speech.maxTextChars) {
      this.stream = undefined;
      this.sendError('text_too_long', `streamed text exceeds the limit of ${this.deps.speech.maxTextChars} characters; stream dropped`);
      return;
    }
    const { complete, rest } = takeSentences(stream.partial + text);
    stream.partial = rest;
    if (complete) {
      stream.ready += complete;
      this.drainStream(stream);
    }
  }

  /** Speaks the stream's whole sentences as they come (one task at a time), then ends it once stopped. */
  private drainStream(stream: TextStream): void {
    if (stream.draining) return;
    stream.draining = true;
    this.enqueue(async () => {
      const target = await this.target(stream.target);
      while (stream.ready.trim().length > 0 && target && !this.abort.signal.aborted) {
        const text = stream.ready;
        stream.ready = '';
        await this.speak(text, target);
      }
      stream.ready = '';
      stream.draining = false;
      if (!stream.stopped) return;
      if (this.stream === stream) this.stream = undefined;
      this.write(encodeEvent('synthesize-stopped'));
    });
  }

  private async target(voice: Record<string, unknown> | undefined): Promise<SpeechTarget | undefined> {
    const resolved = await resolveVoice(voice, this.deps.speech.voices);
    if ('error' in resolved) this.sendError('voice_not_found', resolved.error);
    return 'error' in resolved ? undefined : resolved;
  }

  /** audio-start, audio-chunks as each sentence is synthesized, audio-stop (or an `error` event). */
  private async speak(text: string, target: SpeechTarget): Promise<void> {
    const { speech } = this.deps;
    const signal = this.abort.signal;
    let timestamp = 0;
    let started = false;
    const start = async (rate: number) => {
      started = true;
      return this.send(encodeEvent('audio-start', { rate, width: 2, channels: 1, timestamp: 0 }));
    };
    try {
      for await (const chunk of speech.synthesize({ text, protocol: this.deps.protocol, signal, voice: target.voice, speaker: target.speaker })) {
        if (!started && !(await start(chunk.sampleRate))) return;
        for (let at = 0; at < chunk.pcm.length; at += SAMPLES_PER_CHUNK) {
          const samples = chunk.pcm.subarray(at, at + SAMPLES_PER_CHUNK);
          const payload = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
          const event = encodeEvent('audio-chunk', { rate: chunk.sampleRate, width: 2, channels: 1, timestamp: Math.round(timestamp) }, payload);
          timestamp += (samples.length / chunk.sampleRate) * 1000;
          if (!(await this.send(event))) return;
        }
      }
      if (!started && !(await start(await speech.sampleRate(target.voice)))) return;
      await this.send(encodeEvent('audio-stop', { timestamp: Math.round(timestamp) }));
    } catch (err) {
      if (signal.aborted) return;
      this.deps.log.warn({ err }, 'wyoming synthesis failed');
      this.sendError('synthesis_failed', 'speech synthesis failed for this text');
    }
  }

  /** Writes with backpressure; a client that stops reading is cut off. */
  private async send(bytes: Buffer): Promise<boolean> {
    const result = await writeWithBackpressure(this.deps.socket, bytes, this.deps.limits.delivery, this.abort.signal);
    this.touch();
    if (result === 'slow_consumer') {
      this.deps.speech.metrics.error(this.deps.protocol, 'slow_consumer');
      this.deps.log.info('wyoming client stopped reading; closing');
      this.abort.abort(new Error('slow consumer'));
      this.deps.socket.destroy();
    }
    return result === 'sent';
  }

  private write(bytes: Buffer): void {
    if (!this.deps.socket.destroyed && this.deps.socket.writable) this.deps.socket.write(bytes);
  }

  private sendError(code: string, text: string): void {
    this.deps.speech.metrics.error(this.deps.protocol, code);
    this.write(encodeEvent('error', { text, code }));
  }

  private enqueue(task: () => Promise<void>): void {
    this.pending++;
    this.tail = this.tail
      .then(task)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'wyoming event failed'))
      .finally(() => {
        this.pending--;
        this.touch();
      });
  }

  /** (Re)starts the idle timer: it closes the connection only when nothing is being spoken. */
  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.closed) return;
    this.idleTimer = setTimeout(() => {
      if (this.busy) return this.touch();
      this.sendError('idle_timeout', `no event for ${this.deps.limits.idleTimeoutMs} ms`);
      this.closed = true;
      this.close();
    }, this.deps.limits.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** Something is being spoken or waits to be. */
  get busy(): boolean {
    return this.pending > 0;
  }

  private shutdown(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.abort.abort(new Error('client disconnected'));
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
