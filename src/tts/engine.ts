import { resolve } from 'node:path';
import { boolOrAuto } from '../config/fields.js';
import { type Config, VARIABLES } from '../config/schema.js';
import { abortable } from './abortable.js';
import { type PhonemizedSentence, type SynthesisStats, streamChunks } from './chunk-stream.js';
import { splitPhonemeSymbols, splitTextByWeights } from './chunking.js';
import type { ModelRewrite } from './model-rewrites.js';
import { normalizeText } from './normalize.js';
import { phonemesToIds, splitPhonemes } from './phoneme-ids.js';
import { type PhonemizerCrashInfo, PhonemizerProcess } from './phonemizer.js';
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from './types.js';
import { VoiceCache } from './voice-cache.js';
import { checkVoiceInstalled, loadVoice, type PiperVoice } from './voice.js';

export { type PhonemizedSentence, peakNormalize, type SynthesisStats } from './chunk-stream.js';

/** The engine's settings; the optional ones default to the schema defaults when absent. */
export type EngineConfig = Pick<Config, 'VOICES_DIR' | 'TTS_VOICE' | 'TTS_MAX_VOICES' | 'TTS_INTRA_OP_THREADS' | 'ESPEAK_LIBRARY' | 'ESPEAK_DATA_PATH'> &
  Partial<
    Pick<
      Config,
      | 'TTS_MAX_PHONEMES_PER_CHUNK'
      | 'TTS_MAX_LENGTH_SCALE'
      | 'TTS_THREAD_SPINNING'
      | 'TTS_DENSE_SPLINES'
      | 'TTS_DENSE_ATTENTION'
      | 'TTS_FUSE_LAYER_NORMS'
      | 'TTS_WIDE_CONVOLUTIONS'
      | 'TTS_PARALLEL_DECODER'
    >
  >;

/**
 * Spinning: on 2 idle cores an inference ran 4-12 % faster with its pool threads spinning, but when other processes
 * want the cores (the local LLM and STT, conversations' job processes, a busy host) spinning threads were 25 % slower
 * and used 40 % more CPU (measured here). `auto` spins: an engine on its own has the cores to itself; the service
 * turns it off where the cores are shared (speechThreadSpinning in speech/host.ts).
 */
const DEFAULT_THREAD_SPINNING = boolOrAuto().parse(VARIABLES.TTS_THREAD_SPINNING.default);
const DEFAULT_DENSE_SPLINES = VARIABLES.TTS_DENSE_SPLINES.default === 'true';
const DEFAULT_DENSE_ATTENTION = VARIABLES.TTS_DENSE_ATTENTION.default === 'true';
const DEFAULT_FUSE_LAYER_NORMS = VARIABLES.TTS_FUSE_LAYER_NORMS.default === 'true';
const DEFAULT_WIDE_CONVOLUTIONS = VARIABLES.TTS_WIDE_CONVOLUTIONS.default === 'true';
const DEFAULT_PARALLEL_DECODER = VARIABLES.TTS_PARALLEL_DECODER.default === 'true';
const DEFAULT_MAX_PHONEMES_PER_CHUNK = Number(VARIABLES.TTS_MAX_PHONEMES_PER_CHUNK.default);
const DEFAULT_MAX_LENGTH_SCALE = Number(VARIABLES.TTS_MAX_LENGTH_SCALE.default);

export interface EngineHooks {
  /** Called once per synthesized sentence (metrics). */
  onSentence?: (stats: SynthesisStats) => void;
  /** Called when a voice is unloaded to make room (logging). */
  onEvict?: (voice: string) => void;
  /** Phoneme symbols missing from a voice's id map (skipped, as the reference does). */
  onMissingPhoneme?: (voice: string, symbol: string) => void;
  /** The phonemizer process ended unexpectedly (a native crash, a hang, a kill); it restarts by itself. */
  onPhonemizerCrash?: (info: PhonemizerCrashInfo) => void;
  /** A loaded voice's inference thread died; the voice is reloaded in the background. */
  onVoiceDied?: (voice: string, error: Error) => void;
}

/**
 * Piper text-to-speech: text normalized (normalize.ts), espeak-ng phonemes from a supervised child
 * process (phonemizer.ts), onnxruntime inference on a worker thread per voice; one inference and
 * one chunk per sentence, or per piece of a sentence longer than TTS_MAX_PHONEMES_PER_CHUNK.
 */
export class PiperEngine implements SpeechSynthesizer {
  readonly voicesDir: string;
  private readonly cache: VoiceCache;
  private phonemizer: PhonemizerProcess | undefined;
  private readonly maxPhonemes: number;
  private readonly maxLengthScale: number;
  /** Voices whose inference thread died, with what health() should say until they are back. */
  private readonly voiceTrouble = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly config: EngineConfig,
    private readonly hooks: EngineHooks = {},
  ) {
    this.voicesDir = resolve(process.cwd(), config.VOICES_DIR);
    this.maxPhonemes = config.TTS_MAX_PHONEMES_PER_CHUNK ?? DEFAULT_MAX_PHONEMES_PER_CHUNK;
    this.maxLengthScale = config.TTS_MAX_LENGTH_SCALE ?? DEFAULT_MAX_LENGTH_SCALE;
    this.cache = new VoiceCache({
      maxVoices: config.TTS_MAX_VOICES,
      loader: (name, options) => loadVoice(this.voicesDir, name, options),
      loadOptions: {
        intraOpThreads: config.TTS_INTRA_OP_THREADS,
        allowSpinning: (config.TTS_THREAD_SPINNING ?? DEFAULT_THREAD_SPINNING) !== false,
        denseSplines: config.TTS_DENSE_SPLINES ?? DEFAULT_DENSE_SPLINES,
        denseAttention: config.TTS_DENSE_ATTENTION ?? DEFAULT_DENSE_ATTENTION,
        fuseLayerNorms: config.TTS_FUSE_LAYER_NORMS ?? DEFAULT_FUSE_LAYER_NORMS,
        widenConvolutions: config.TTS_WIDE_CONVOLUTIONS ?? DEFAULT_WIDE_CONVOLUTIONS,
        parallelDecoder: config.TTS_PARALLEL_DECODER ?? DEFAULT_PARALLEL_DECODER,
      },
      pinned: config.TTS_VOICE,
      validate: (name) => checkVoiceInstalled(this.voicesDir, name),
      onEvict: hooks.onEvict,
      onLoaded: (name) => this.voiceTrouble.delete(name),
      onDeath: (name, err) => this.voiceDied(name, err),
    });
  }

  get defaultVoice(): string {
    return this.config.TTS_VOICE;
  }

  /** Loads a voice (default: TTS_VOICE) so later requests find it resident; optionally warms it up. */
  async load(voice = this.config.TTS_VOICE, warmUp = false): Promise<void> {
    const lease = await this.cache.acquire(voice);
    try {
      if (lease.voice.config.phonemeType === 'espeak') await this.phonemizerProcess().start();
      if (warmUp) {
        for await (const _ of this.synthesizeWith(lease.voice, 'Hello there.', {})) {
          // discard: the point is to run the model once
        }
      }
    } finally {
      lease.release();
    }
  }

  loadedVoices(): string[] {
    return this.cache.loaded();
  }

  /** Why the engine is degraded right now (a voice that died and is reloading); empty when fine. */
  voiceProblems(): string[] {
    return [...this.voiceTrouble.values()];
  }

  async sampleRate(voice = this.config.TTS_VOICE): Promise<number> {
    return (await this.voiceInfo(voice)).sampleRate;
  }

  /** A voice's sample rate and how its model was rewritten at load (loading it if needed). */
  async voiceInfo(voice = this.config.TTS_VOICE): Promise<{ sampleRate: number; modelRewrites: readonly ModelRewrite[] }> {
    const lease = await this.cache.acquire(voice);
    lease.release();
    return { sampleRate: lease.voice.sampleRate, modelRewrites: lease.voice.modelRewrites };
  }

  /**
   * Text -> the model ids of each inference synthesize() would run (no inference): per sentence
   * exactly as Piper builds them, a sentence longer than TTS_MAX_PHONEMES_PER_CHUNK cut in pieces.
   */
  async phonemize(text: string, voice = this.config.TTS_VOICE): Promise<PhonemizedSentence[]> {
    const lease = await this.cache.acquire(voice);
    try {
      return await this.phonemizeWith(lease.voice, text, undefined);
    } finally {
      lease.release();
    }
  }

  /**
   * Streams int16 speech, one chunk per sentence (a sentence over TTS_MAX_PHONEMES_PER_CHUNK
   * phonemes in several). Yields nothing for empty text. The next chunk is synthesized while the
   * consumer handles the current one, never before the first chunk is delivered. An abort rejects
   * the iteration with the signal's reason (an AbortError) without waiting for the chunk in
   * progress. options.acquireSlot, when given, gates every inference (see SynthesisOptions).
   * A crash of espeak-ng on this text rejects with PhonemizerCrashedError (later texts work).
   */
  async *synthesize(text: string, options: SynthesisOptions = {}): AsyncGenerator<SpeechChunk> {
    if (typeof text !== 'string' || text.trim().length === 0) return;
    options.signal?.throwIfAborted();
    const lease = await abortable(this.cache.acquire(options.voice ?? this.config.TTS_VOICE), options.signal, (l) => l.release());
    try {
      yield* this.synthesizeWith(lease.voice, text, options);
    } finally {
      lease.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.cache.clear(), this.phonemizer?.close()]);
  }

  private phonemizerProcess(): PhonemizerProcess {
    this.phonemizer ??= new PhonemizerProcess({
      library: this.config.ESPEAK_LIBRARY,
      dataPath: this.config.ESPEAK_DATA_PATH,
      onCrash: this.hooks.onPhonemizerCrash,
    });
    return this.phonemizer;
  }

  /** A voice's inference thread died: the cache dropped it; load it again so it is ready before it is needed. */
  private voiceDied(name: string, err: Error): void {
    this.hooks.onVoiceDied?.(name, err);
    if (this.closed) return;
    this.voiceTrouble.set(name, `voice ${name}: its inference thread stopped; reloading`);
    this.load(name).then(
      () => this.voiceTrouble.delete(name),
      (loadErr: Error) => {
        // the default voice is what the service speaks with: stay not-ready until a load succeeds
        if (name === this.config.TTS_VOICE && !this.closed) {
          this.voiceTrouble.set(name, `voice ${name} could not be reloaded after its inference thread stopped: ${loadErr.message}`);
        } else {
          this.voiceTrouble.delete(name);
        }
      },
    );
  }

  private async *synthesizeWith(voice: PiperVoice, text: string, options: SynthesisOptions): AsyncGenerator<SpeechChunk> {
    const { signal, acquireSlot } = options;
    const speakerId = voice.resolveSpeaker(options.speaker);
    const scales = {
      noiseScale: finiteOr(options.noiseScale, voice.config.noiseScale),
      // the slowest speed is bounded: a tiny speed must not multiply the work of an inference
      lengthScale: Math.min(this.maxLengthScale, finiteOr(options.lengthScale, voice.config.lengthScale)),
      noiseW: finiteOr(options.noiseW, voice.config.noiseW),
    };
    if (!(scales.lengthScale > 0)) throw new RangeError(`lengthScale must be greater than 0 (got ${scales.lengthScale})`);
    const chunks = await abortable(this.phonemizeWith(voice, text, signal), signal);
    yield* streamChunks(voice, chunks, { scales, speakerId, signal, acquireSlot, onSentence: (stats) => this.hooks.onSentence?.(stats) });
  }

  /** Normalized text -> the inferences to run: per sentence, cut to at most maxPhonemes phonemes each. */
  private async phonemizeWith(voice: PiperVoice, text: string, signal: AbortSignal | undefined): Promise<PhonemizedSentence[]> {
    const { config } = voice;
    const onMissing = this.hooks.onMissingPhoneme && ((s: string) => this.hooks.onMissingPhoneme?.(voice.name, s));
    const clean = normalizeText(text);
    if (clean.trim().length === 0) return [];
    const sentences =
      config.phonemeType === 'text'
        ? [{ text: clean, symbols: splitPhonemes(clean, config.vowelClusters) }]
        : (await this.phonemizerProcess().phonemize(clean, config.espeakVoice, signal)).map((s) => ({
            text: s.text,
            symbols: splitPhonemes(s.phonemes, config.vowelClusters),
          }));
    const out: PhonemizedSentence[] = [];
    for (const sentence of sentences) {
      const pieces = splitPhonemeSymbols(sentence.symbols, this.maxPhonemes);
      const texts = splitTextByWeights(
        sentence.text,
        pieces.map((p) => p.length),
      );
      for (const [i, symbols] of pieces.entries()) {
        out.push({ text: texts[i] ?? '', ids: phonemesToIds(symbols, config.phonemeIdMap, onMissing) });
      }
    }
    return out;
  }
}

function finiteOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
