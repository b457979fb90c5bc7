import { FRAME_MS, type EndReason } from './protocol.js';

/** One accepted text: what to say, how, and what happened to it so far. */
export class Utterance {
  readonly receivedAt = performance.now();
  readonly abort = new AbortController();
  ended = false;
  frames = 0;
  firstSequence: number | undefined;
  firstAudioAt: number | undefined;
  firstAudioMs: number | undefined;
  firstChunkSynthesisMs: number | undefined;
  synthesisMs = 0;

  constructor(
    readonly id: string,
    readonly text: string,
    readonly voice: string | undefined,
    readonly speed: number | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Records one frame handed to the socket; true for the text's first frame. */
  frameSent(sequence: number): boolean {
    this.frames++;
    if (this.firstAudioMs !== undefined) return false;
    this.firstSequence = sequence;
    this.firstAudioAt = performance.now();
    this.firstAudioMs = round(this.firstAudioAt - this.receivedAt);
    return true;
  }

  chunkSynthesized(ms: number): void {
    this.firstChunkSynthesisMs ??= ms;
    this.synthesisMs += ms;
  }

  /** Marks the text ended (once) and cancels its work; false when it had already ended. */
  end(reason: EndReason): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.abort.abort(reason);
    return true;
  }

  /** The `utterance_end` extension message. */
  endMessage(reason: EndReason): Record<string, unknown> {
    return {
      type: 'utterance_end',
      utterance_id: this.id,
      reason,
      frames: this.frames,
      first_sequence: this.firstSequence ?? null,
      last_sequence: this.frames > 0 ? (this.firstSequence ?? 0) + this.frames - 1 : null,
      first_audio_ms: this.firstAudioMs ?? null,
      first_sentence_synthesis_ms: this.firstChunkSynthesisMs !== undefined ? round(this.firstChunkSynthesisMs) : null,
      synthesis_ms: round(this.synthesisMs),
      audio_ms: this.frames * FRAME_MS,
    };
  }
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
