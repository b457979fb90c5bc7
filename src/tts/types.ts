/** The contract between the Piper engine and its users (legacy sessions, the LiveKit TTS adapter). */

export interface SynthesisOptions {
  /** Voice name (file stem in VOICES_DIR); defaults to TTS_VOICE. */
  voice?: string;
  /** Speaker name or id for multi-speaker voices. */
  speaker?: string | number;
  /** Length scale: > 1 slower, < 1 faster. Defaults to the voice's inference setting. */
  lengthScale?: number;
  noiseScale?: number;
  noiseW?: number;
  signal?: AbortSignal;
}

export interface SpeechChunk {
  /** Mono signed 16-bit PCM at `sampleRate`, peak-normalised like Piper's reference. */
  pcm: Int16Array;
  sampleRate: number;
  /** The sentence this chunk speaks. */
  text: string;
  /** Wall time spent synthesizing this chunk (phonemes + inference), ms. */
  synthesisMs: number;
}

export interface SpeechSynthesizer {
  /**
   * Streams speech sentence by sentence: the first sentence is yielded before later ones are
   * synthesized. Empty or whitespace-only text yields nothing. Aborting stops within a sentence.
   */
  synthesize(text: string, options?: SynthesisOptions): AsyncIterable<SpeechChunk>;
  /** Sample rate of a voice's output (loads the voice if needed). */
  sampleRate(voice?: string): Promise<number>;
}
