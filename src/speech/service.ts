import type { Registry } from 'prom-client';
import type { SpeechChunk, SpeechSynthesizer } from '../tts/types.js';
import { type Protocol, SpeechMetrics, type SynthesisOutcome } from './metrics.js';
import { SynthesisScheduler } from './scheduler.js';
import { VoiceCatalog } from './voices.js';

/** How long past its playback deadline a later chunk may wait behind new texts' first chunks. */
export const LATER_CHUNK_GRACE_MS = 5000;

export interface SpeechRequest {
  text: string;
  protocol: Protocol;
  /** Cancels the synthesis (client gone, STOP, shutdown); required so no abandoned work keeps the engine. */
  signal: AbortSignal;
  /** An installed voice; default TTS_VOICE. */
  voice?: string;
  speaker?: string | number;
  /** Speaking rate, 0.25 to 4 (sent to Piper as length scale 1 / speed, bounded by TTS_MAX_LENGTH_SCALE). */
  speed?: number;
}

export interface SpeechServiceDeps {
  tts: SpeechSynthesizer;
  registry: Registry;
  voicesDir: string;
  defaultVoice: string;
  /** Longest text one request may ask for (LEGACY_MAX_TEXT_CHARS, for every protocol). */
  maxTextChars: number;
}

/**
 * One per process: the Piper engine, the scheduler that shares it, the installed voices and the
 * metrics, used by every protocol adapter (legacy WebSocket, OpenAI HTTP, Wyoming TCP).
 *
 * The scheduler has one slot: Piper runs one voice's sentences one at a time (its worker uses
 * every core), so the scheduler, not the engine's FIFO, decides which sentence goes next: the
 * earliest deadline first, where a text's first sentence is due at once and a later one when the
 * audio already made for its text has played (plus a grace). New texts of any protocol start
 * quickly under load and no text starves.
 */
export class SpeechService {
  readonly tts: SpeechSynthesizer;
  readonly scheduler = new SynthesisScheduler(1);
  readonly metrics: SpeechMetrics;
  readonly voices: VoiceCatalog;
  readonly maxTextChars: number;

  constructor(deps: SpeechServiceDeps) {
    this.tts = deps.tts;
    this.metrics = new SpeechMetrics(deps.registry, () => this.scheduler.queued);
    this.voices = new VoiceCatalog(deps.voicesDir, deps.defaultVoice);
    this.maxTextChars = deps.maxTextChars;
  }

  get defaultVoice(): string {
    return this.voices.defaultVoice;
  }

  /** Sample rate of a voice's output; loads the voice, so a missing or broken one rejects here. */
  sampleRate(voice?: string): Promise<number> {
    return this.tts.sampleRate(voice);
  }

  /**
   * Streams the speech of one text, a chunk per sentence (or piece of a long one), each inference
   * taking its turn on the shared scheduler. Rejects with the signal's reason once it aborts.
   */
  async *synthesize(request: SpeechRequest): AsyncGenerator<SpeechChunk> {
    const { protocol, signal } = request;
    const started = performance.now();
    let firstAt: number | undefined;
    let outcome: SynthesisOutcome = 'failed';
    this.metrics.active.inc({ protocol });
    try {
      const chunks = this.tts.synthesize(request.text, {
        ...(request.voice ? { voice: request.voice } : {}),
        ...(request.speaker !== undefined ? { speaker: request.speaker } : {}),
        ...(request.speed ? { lengthScale: 1 / request.speed } : {}),
        signal,
        acquireSlot: ({ chunkIndex, audioMsSoFar }) => this.scheduler.acquire(chunkIndex === 0 ? 0 : laterChunkSlack(firstAt, audioMsSoFar), signal),
      });
      for await (const chunk of chunks) {
        if (firstAt === undefined) {
          firstAt = performance.now();
          this.metrics.firstChunkSeconds.observe({ protocol }, (firstAt - started) / 1000);
        }
        this.metrics.audioSeconds.inc({ protocol }, chunk.pcm.length / chunk.sampleRate);
        yield chunk;
        if (signal.aborted) {
          outcome = 'cancelled';
          return;
        }
      }
      outcome = 'completed';
    } catch (err) {
      outcome = signal.aborted ? 'cancelled' : 'failed';
      throw err;
    } finally {
      // a consumer that stops iterating (break) leaves outcome 'failed' unless it aborted first
      if (outcome === 'failed' && signal.aborted) outcome = 'cancelled';
      this.metrics.active.dec({ protocol });
      this.metrics.syntheses.inc({ protocol, outcome });
    }
  }
}

/** A later chunk's slack: the audio already made for its text still to play, plus a grace, ms. */
function laterChunkSlack(firstAt: number | undefined, audioMsSoFar: number): number {
  const started = firstAt ?? performance.now();
  return Math.max(0, started + audioMsSoFar - performance.now()) + LATER_CHUNK_GRACE_MS;
}
