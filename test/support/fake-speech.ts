/** A SpeechSynthesizer that makes loud noise fast and forever (until aborted or `seconds` run out): for delivery tests without engine cost. */
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from '../../src/tts/types.js';

export class NoiseSynthesizer implements SpeechSynthesizer {
  active = 0;

  constructor(
    private readonly seconds = 600,
    private readonly rate = 24000,
  ) {}

  async *synthesize(text: string, options: SynthesisOptions = {}): AsyncIterable<SpeechChunk> {
    this.active++;
    try {
      for (let i = 0; i < this.seconds; i++) {
        const release = await options.acquireSlot?.({ chunkIndex: i, audioMsSoFar: i * 1000 });
        await new Promise((r) => setTimeout(r, 5));
        release?.();
        options.signal?.throwIfAborted();
        const pcm = new Int16Array(this.rate).map(() => Math.round((Math.random() - 0.5) * 20000));
        yield { pcm, sampleRate: this.rate, text, synthesisMs: 5 };
      }
    } finally {
      this.active--;
    }
  }

  async sampleRate(): Promise<number> {
    return this.rate;
  }
}
