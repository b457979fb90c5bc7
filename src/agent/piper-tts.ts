/**
 * Our in-process Piper engine as a LiveKit Agents TTS plugin.
 *
 * Non-streaming: the framework wraps it in `tts.StreamAdapter`, which splits the LLM's text into
 * sentences and calls `synthesize()` once per sentence, all at once. Piper is CPU-bound, so the
 * calls are queued here and run one after another in order: the first sentence gets the whole
 * CPU and its audio starts as early as possible.
 */
import { randomUUID } from 'node:crypto';
import { tts, type APIConnectOptions } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { Framer, firstAbove } from '../audio/index.js';
import type { SpeechSynthesizer } from '../tts/types.js';

/** 20 ms frames, like other LiveKit TTS plugins: interruptions cut audio at a fine grain. */
const FRAME_MS = 20;
/**
 * Piper starts each sentence with 25-55 ms of near-silence (|sample| <= 5) before the voice ramps up:
 * in a conversation that is only latency. It is cut to this much before the first sample above
 * ONSET_LEVEL (-54 dBFS), in the sentence's first chunk.
 */
const LEAD_IN_MS = 10;
const ONSET_LEVEL = 64;

export interface PiperTTSOptions {
  engine: SpeechSynthesizer;
  voice: string;
  /** The voice's native rate; frames are resampled to the room's rate by the framework. */
  sampleRate: number;
}

/** FIFO mutex: one synthesis at a time, in the order requested. */
class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export class PiperTTS extends tts.TTS {
  label = 'piper.TTS';
  readonly engine: SpeechSynthesizer;
  readonly voice: string;
  /** @internal */
  readonly serial = new SerialQueue();

  constructor(options: PiperTTSOptions) {
    super(options.sampleRate, 1, { streaming: false });
    this.engine = options.engine;
    this.voice = options.voice;
  }

  override get model(): string {
    return this.voice;
  }

  override get provider(): string {
    return 'piper';
  }

  synthesize(text: string, connOptions?: APIConnectOptions, abortSignal?: AbortSignal): PiperChunkedStream {
    return new PiperChunkedStream(this, text, connOptions, abortSignal);
  }

  stream(): tts.SynthesizeStream {
    throw new Error('piper.TTS is not streaming; the framework wraps it in tts.StreamAdapter');
  }
}

export class PiperChunkedStream extends tts.ChunkedStream {
  label = 'piper.ChunkedStream';
  readonly #tts: PiperTTS;

  constructor(piper: PiperTTS, text: string, connOptions?: APIConnectOptions, abortSignal?: AbortSignal) {
    // Piper runs locally: a failed sentence will fail again, so never retry.
    super(text, piper, { ...(connOptions ?? { timeoutMs: 10_000, retryIntervalMs: 0 }), maxRetry: 0 }, abortSignal);
    this.#tts = piper;
  }

  protected async run(): Promise<void> {
    const signal = this.abortSignal;
    await this.#tts.serial.run(async () => {
      if (signal.aborted) return;
      const requestId = randomUUID();
      const push = (frame: AudioFrame, final: boolean) => {
        if (!this.queue.closed) this.queue.put({ requestId, segmentId: requestId, frame, final });
      };
      // Each frame is held back until the next one exists, so the last one can be marked final.
      let pending: AudioFrame | undefined;
      const emit = (data: Int16Array | null, sampleRate: number) => {
        if (!data) return;
        if (pending) push(pending, false);
        pending = new AudioFrame(data, sampleRate, 1, data.length);
      };
      let framer: Framer | undefined;
      // The rest of the audio as a short last frame (padding it would add silence).
      const endFraming = () => {
        if (framer) emit(framer.flush(false), framer.sampleRate);
      };
      let first = true;
      try {
        for await (const chunk of this.#tts.engine.synthesize(this.inputText, { voice: this.#tts.voice, signal })) {
          if (signal.aborted) break;
          if (framer?.sampleRate !== chunk.sampleRate) {
            endFraming();
            framer = new Framer(chunk.sampleRate, FRAME_MS, { round: true });
          }
          const pcm = first ? withoutLeadingSilence(chunk.pcm, chunk.sampleRate) : chunk.pcm;
          first = false;
          for (const data of framer.push(pcm)) emit(data, chunk.sampleRate);
        }
      } catch (err) {
        // An interruption aborts the engine mid-sentence: that is the expected end, not a TTS failure.
        if (signal.aborted) return;
        throw err;
      }
      if (signal.aborted) return;
      endFraming();
      if (pending) push(pending, true);
    });
  }
}

/** `pcm` from LEAD_IN_MS before its first sample above ONSET_LEVEL (all of it when there is none). */
function withoutLeadingSilence(pcm: Int16Array, sampleRate: number): Int16Array {
  const onset = firstAbove(pcm, ONSET_LEVEL);
  if (onset < 0) return pcm;
  return pcm.subarray(Math.max(0, onset - Math.round((sampleRate * LEAD_IN_MS) / 1000)));
}
