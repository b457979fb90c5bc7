import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from '../tts/types.js';

/** TEMPORARY stand-in used while the Piper engine is being written: a tone per sentence. */
export class ToneSynthesizer implements SpeechSynthesizer {
  async *synthesize(text: string, options?: SynthesisOptions): AsyncIterable<SpeechChunk> {
    const sentences = text.split(/(?<=[.!?])\s+/).filter((s) => s.trim().length > 0);
    for (const sentence of sentences) {
      const started = performance.now();
      await new Promise((r) => setTimeout(r, 30));
      if (options?.signal?.aborted) return;
      const samples = Math.round(22050 * 0.06 * sentence.length * (options?.lengthScale ?? 1));
      const pcm = new Int16Array(samples);
      for (let i = 0; i < samples; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / 22050));
      yield { pcm, sampleRate: 22050, text: sentence, synthesisMs: performance.now() - started };
    }
  }
  async sampleRate(voice?: string): Promise<number> {
    if (voice && voice !== 'tone') throw new Error(`unknown voice ${voice}`);
    return 22050;
  }
}
