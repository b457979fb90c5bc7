import { createConnection, type Socket } from 'node:net';
import type { VoiceCatalog } from '../speech/voices.js';
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from '../tts/types.js';
import { encodeEvent, EventReader, type WyomingEvent } from './framing.js';

export interface WyomingSynthesizerOptions {
  /** The server's Unix socket (the agent component's private speech socket). */
  path: string;
  /** The installed voices: sample rates are read from their configs, without loading a model. */
  voices: VoiceCatalog;
}

/** Generous bounds: the peer is this host's own speech service. */
const LIMITS = { maxHeaderBytes: 64 * 1024, maxDataBytes: 64 * 1024, maxPayloadBytes: 4 * 1024 * 1024 };
/** Events read ahead of the consumer before the socket is paused. */
const READ_AHEAD = 64;

/** A failure the server reported for one text (an `error` event): the text is not retried. */
export class RemoteSynthesisError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Speech from another process's speech service over Wyoming: one connection per text (closing it
 * cancels the synthesis on the server at once), audio yielded as it arrives. The agent job
 * processes use it so that one engine and one scheduler serve every room on the host.
 */
export class WyomingSynthesizer implements SpeechSynthesizer {
  constructor(private readonly options: WyomingSynthesizerOptions) {}

  async sampleRate(voice?: string): Promise<number> {
    const name = voice ?? this.options.voices.defaultVoice;
    const found = await this.options.voices.find(name);
    if (!found) throw new Error(`voice "${name}" is not installed in VOICES_DIR`);
    return found.sampleRate;
  }

  async *synthesize(text: string, options: SynthesisOptions = {}): AsyncGenerator<SpeechChunk> {
    if (text.trim().length === 0) return;
    const { signal } = options;
    signal?.throwIfAborted();
    const events = new EventQueue(createConnection(this.options.path), signal);
    try {
      events.socket.write(encodeEvent('synthesize', { text, ...(options.voice ? { voice: { name: options.voice } } : {}) }));
      let sampleRate = 0;
      for (;;) {
        const event = await events.next();
        switch (event.type) {
          case 'audio-start':
            sampleRate = Number(event.data['rate']);
            break;
          case 'audio-chunk': {
            const pcm = toSamples(event.payload);
            if (pcm.length > 0) yield { pcm, sampleRate: Number(event.data['rate']) || sampleRate, text, synthesisMs: 0 };
            break;
          }
          case 'audio-stop':
            return;
          case 'error':
            throw new RemoteSynthesisError(`speech service: ${String(event.data['text'] ?? 'synthesis failed')}`, String(event.data['code'] ?? 'error'));
          default:
        }
      }
    } finally {
      events.close();
    }
  }
}

/** The events of one connection, read ahead a little; rejects on abort, close or a broken stream. */
class EventQueue {
  private readonly reader = new EventReader(LIMITS);
  private readonly events: WyomingEvent[] = [];
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly signal: AbortSignal | undefined,
  ) {
    socket.on('data', (bytes: Buffer) => {
      try {
        this.events.push(...this.reader.push(bytes));
      } catch (err) {
        this.fail(err as Error);
      }
      if (this.events.length >= READ_AHEAD) socket.pause();
      this.wake?.();
    });
    socket.on('error', (err) => this.fail(new Error(`speech service unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    socket.on('close', () => this.fail(new Error('speech service closed the connection before the audio ended')));
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async next(): Promise<WyomingEvent> {
    for (;;) {
      const event = this.events.shift();
      if (event) {
        if (this.events.length < READ_AHEAD / 2) this.socket.resume();
        return event;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  close(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
  }

  private readonly onAbort = () => {
    // audio read ahead is not wanted any more
    this.events.length = 0;
    this.fail(this.signal?.reason instanceof Error ? this.signal.reason : new Error('aborted'));
    this.socket.destroy();
  };

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }
}

function toSamples(payload: Buffer | undefined): Int16Array {
  if (!payload || payload.length < 2) return new Int16Array(0);
  // the reader hands out a fresh Buffer per payload; copy when its offset is not 2-byte aligned
  const bytes = payload.byteOffset % 2 === 0 ? payload : Buffer.from(payload);
  return new Int16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 2));
}
