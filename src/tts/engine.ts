import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { Espeak } from './espeak.js';
import { phonemesToIds, splitPhonemes } from './phoneme-ids.js';
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from './types.js';
import { VoiceCache } from './voice-cache.js';
import { loadVoice, type PiperVoice } from './voice.js';

export type EngineConfig = Pick<
  Config,
  'VOICES_DIR' | 'TTS_VOICE' | 'TTS_MAX_VOICES' | 'TTS_INTRA_OP_THREADS' | 'ESPEAK_LIBRARY' | 'ESPEAK_DATA_PATH'
>;

export interface SynthesisStats {
  voice: string;
  /** Seconds of audio produced. */
  audioSeconds: number;
  synthesisMs: number;
}

export interface EngineHooks {
  /** Called once per synthesized sentence (metrics). */
  onSentence?: (stats: SynthesisStats) => void;
  /** Called when a voice is unloaded to make room (logging). */
  onEvict?: (voice: string) => void;
  /** Phoneme symbols missing from a voice's id map (skipped, as the reference does). */
  onMissingPhoneme?: (voice: string, symbol: string) => void;
  /**
   * onnxruntime thread spinning. Default off: busy-waiting pool threads cost ~15 % more CPU for the
   * same wall time here, CPU the event loop and other sessions need.
   */
  allowSpinning?: boolean;
}

export interface PhonemizedSentence {
  /** The sentence's text, for display. */
  text: string;
  /** Model input: ^ _ (phoneme _)* $ */
  ids: number[];
}

const MAX_WAV_VALUE = 32767;

/** Piper text-to-speech: espeak-ng phonemes, onnxruntime inference, one chunk per sentence. */
export class PiperEngine implements SpeechSynthesizer {
  readonly voicesDir: string;
  private readonly cache: VoiceCache;
  private espeak: Espeak | undefined;

  constructor(
    private readonly config: EngineConfig,
    private readonly hooks: EngineHooks = {},
  ) {
    this.voicesDir = resolve(process.cwd(), config.VOICES_DIR);
    this.cache = new VoiceCache(
      config.TTS_MAX_VOICES,
      (name, options) => loadVoice(this.voicesDir, name, options),
      { intraOpThreads: config.TTS_INTRA_OP_THREADS, allowSpinning: hooks.allowSpinning ?? false },
      hooks.onEvict,
    );
  }

  get defaultVoice(): string {
    return this.config.TTS_VOICE;
  }

  /** Loads a voice (default: TTS_VOICE) so later requests find it resident; optionally warms it up. */
  async load(voice = this.config.TTS_VOICE, warmUp = false): Promise<void> {
    const lease = await this.cache.acquire(voice);
    try {
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

  async sampleRate(voice = this.config.TTS_VOICE): Promise<number> {
    const lease = await this.cache.acquire(voice);
    lease.release();
    return lease.voice.sampleRate;
  }

  /** Text -> per-sentence model ids exactly as Piper builds them (no inference). */
  async phonemize(text: string, voice = this.config.TTS_VOICE): Promise<PhonemizedSentence[]> {
    const lease = await this.cache.acquire(voice);
    try {
      return this.phonemizeWith(lease.voice, text);
    } finally {
      lease.release();
    }
  }

  /**
   * Streams int16 speech, one chunk per sentence. Yields nothing for empty text. The next
   * sentence is synthesized while the consumer handles the current one, never before the first
   * chunk is delivered. An abort rejects the iteration with the signal's reason (an AbortError)
   * without waiting for the sentence in progress.
   */
  async *synthesize(text: string, options: SynthesisOptions = {}): AsyncGenerator<SpeechChunk> {
    if (typeof text !== 'string' || text.trim().length === 0) return;
    options.signal?.throwIfAborted();
    const lease = await abortable(this.cache.acquire(options.voice ?? this.config.TTS_VOICE), options.signal, (l) =>
      l.release(),
    );
    try {
      yield* this.synthesizeWith(lease.voice, text, options);
    } finally {
      lease.release();
    }
  }

  async close(): Promise<void> {
    await this.cache.clear();
  }

  private async *synthesizeWith(voice: PiperVoice, text: string, options: SynthesisOptions): AsyncGenerator<SpeechChunk> {
    const { signal } = options;
    const speakerId = voice.resolveSpeaker(options.speaker);
    const scales = {
      noiseScale: finiteOr(options.noiseScale, voice.config.noiseScale),
      lengthScale: finiteOr(options.lengthScale, voice.config.lengthScale),
      noiseW: finiteOr(options.noiseW, voice.config.noiseW),
    };
    if (!(scales.lengthScale > 0)) throw new RangeError(`lengthScale must be greater than 0 (got ${scales.lengthScale})`);
    const sentences = this.phonemizeWith(voice, text);
    const run = (s: PhonemizedSentence) => this.synthesizeSentence(voice, s, scales, speakerId);
    let stopped = false;
    let pending: Promise<SpeechChunk> | undefined = sentences[0] ? run(sentences[0]) : undefined;
    try {
      for (let i = 0; pending; i++) {
        const chunk = await abortable(pending, signal);
        pending = undefined;
        const next = sentences[i + 1];
        if (next) {
          // start the next sentence right after this chunk is handed over, not before; skip it
          // if the consumer stopped or aborted in the meantime
          pending = new Promise<SpeechChunk>((res, rej) =>
            setImmediate(() => (stopped || signal?.aborted ? rej(new Error('cancelled')) : run(next).then(res, rej))),
          );
          pending.catch(() => undefined); // an abandoned iteration must not leave an unhandled rejection
        }
        signal?.throwIfAborted();
        yield chunk;
      }
    } finally {
      stopped = true;
    }
  }

  private phonemizeWith(voice: PiperVoice, text: string): PhonemizedSentence[] {
    const { config } = voice;
    const onMissing = this.hooks.onMissingPhoneme && ((s: string) => this.hooks.onMissingPhoneme?.(voice.name, s));
    if (config.phonemeType === 'text') {
      const symbols = splitPhonemes(text, config.vowelClusters);
      return [{ text, ids: phonemesToIds(symbols, config.phonemeIdMap, onMissing) }];
    }
    this.espeak ??= Espeak.get({ library: this.config.ESPEAK_LIBRARY, dataPath: this.config.ESPEAK_DATA_PATH });
    return this.espeak.phonemizeSentences(text, config.espeakVoice).map((s) => ({
      text: s.text,
      ids: phonemesToIds(splitPhonemes(s.phonemes, config.vowelClusters), config.phonemeIdMap, onMissing),
    }));
  }

  private async synthesizeSentence(
    voice: PiperVoice,
    sentence: PhonemizedSentence,
    scales: { noiseScale: number; lengthScale: number; noiseW: number },
    speakerId: number | undefined,
  ): Promise<SpeechChunk> {
    const started = performance.now();
    const audio = await voice.infer(sentence.ids, scales, speakerId);
    const pcm = peakNormalize(audio);
    const synthesisMs = performance.now() - started;
    this.hooks.onSentence?.({ voice: voice.name, audioSeconds: pcm.length / voice.sampleRate, synthesisMs });
    return { pcm, sampleRate: voice.sampleRate, text: sentence.text, synthesisMs };
  }
}

/** Piper's reference int16 conversion: scale the peak to full range (quiet audio is not boosted past 100x). */
export function peakNormalize(audio: Float32Array): Int16Array {
  let peak = 0;
  for (let i = 0; i < audio.length; i++) {
    const a = Math.abs(audio[i]!);
    if (a > peak) peak = a;
  }
  const scale = MAX_WAV_VALUE / Math.max(0.01, peak);
  const pcm = new Int16Array(audio.length);
  for (let i = 0; i < audio.length; i++) {
    const v = audio[i]! * scale;
    pcm[i] = v > MAX_WAV_VALUE ? MAX_WAV_VALUE : Math.max(v , -MAX_WAV_VALUE); // truncates like the C++ cast
  }
  return pcm;
}

function finiteOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Resolves like `promise` unless `signal` aborts first; a late result is passed to `dispose`. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, dispose?: (value: T) => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.then((v) => dispose?.(v), () => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((res, rej) => {
    const onAbort = () => {
      promise.then((v) => dispose?.(v), () => undefined);
      rej(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return;
        res(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        rej(err);
      },
    );
  });
}
