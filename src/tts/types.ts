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
  /**
   * Optional per-inference gate (fairness across clients). When given, the engine awaits it
   * before EACH inference — every sentence, or piece of a long sentence (TTS_MAX_PHONEMES_PER_CHUNK),
   * including the next one prefetched while the consumer handles the current chunk — and calls the
   * returned release exactly once, right after that inference has finished or failed.
   * - `chunkIndex`: 0 for the text's first inference, then 1, 2, ...
   * - `audioMsSoFar`: milliseconds of audio this text has produced before this inference.
   * If `signal` aborts while waiting, the engine stops waiting; a slot granted later is released at
   * once. A slot granted after the consumer stopped iterating is released without inferring. An
   * inference already running when the signal aborts finishes on its worker first (its slot is
   * released then, typically within tens of ms). A rejection of the gate fails the iteration.
   * Without a gate, inferences run as soon as they are due.
   */
  acquireSlot?: (info: { chunkIndex: number; audioMsSoFar: number }) => Promise<() => void>;
}

export interface SpeechChunk {
  /** Mono signed 16-bit PCM at `sampleRate`, peak-normalised like Piper's reference. */
  pcm: Int16Array;
  sampleRate: number;
  /** The sentence this chunk speaks (about its part, when a long sentence is cut into several chunks). */
  text: string;
  /** Wall time spent synthesizing this chunk (phonemes + inference), ms. */
  synthesisMs: number;
}

export interface SpeechSynthesizer {
  /**
   * Streams speech sentence by sentence (a sentence longer than the per-inference phoneme limit
   * in several chunks): the first chunk is yielded before later ones are synthesized. Empty or whitespace-only text yields nothing. Aborting stops within a sentence.
   */
  synthesize(text: string, options?: SynthesisOptions): AsyncIterable<SpeechChunk>;
  /** Sample rate of a voice's output (loads the voice if needed). */
  sampleRate(voice?: string): Promise<number>;
}
