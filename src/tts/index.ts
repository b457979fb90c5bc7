/**
 * Piper text-to-speech, in process.
 *
 *   const { component, engine } = createTtsComponent({ config, logger, metrics });
 *   await component.start();                        // loads + warms TTS_VOICE
 *   for await (const chunk of engine.synthesize(text, { signal, voice, speaker, lengthScale })) {
 *     chunk.pcm;         // Int16Array, mono, peak-normalised like Piper's reference
 *     chunk.sampleRate;  // the voice's rate (22050 for medium voices): resample with src/audio
 *     chunk.text;        // the sentence
 *   }
 *
 * - `PiperEngine` implements `SpeechSynthesizer` (types.ts): one chunk per sentence (or piece of a
 *   long sentence); the first chunk is delivered before the next is synthesized (the next one then runs while the
 *   consumer handles the current one). Empty/whitespace text yields nothing. Aborting `signal`
 *   rejects the iteration at once with the signal's reason (a DOMException named AbortError).
 *   Inference runs on a worker thread per voice, so the event loop stays free.
 * - Errors for voices: `VoiceNotFoundError` (files missing; the message names
 *   `npm run voices -- download NAME`; `InvalidVoiceNameError` for a name that cannot be a file
 *   stem), `VoiceLoadError` (corrupt JSON/model), `UnknownSpeakerError`; all extend `VoiceError`
 *   with `.voice`. `PhonemizerError` when espeak-ng cannot be used; its subclasses
 *   `PhonemizerCrashedError` / `PhonemizerTimeoutError` when espeak-ng crashed or hung on a text
 *   (it runs in a supervised child process: only that text fails, the next one works).
 * - Hostile text is bounded: normalized first (normalize.ts), at most TTS_MAX_PHONEMES_PER_CHUNK
 *   phonemes per inference (longer sentences come in several chunks), length scale at most
 *   TTS_MAX_LENGTH_SCALE. `SynthesisOptions.acquireSlot` gates every inference (types.ts).
 * - `engine.voiceProblems()`: non-empty while a voice whose inference thread died is reloading.
 * - `engine.sampleRate(voice?)`, `engine.load(voice?, warmUp?)`, `engine.loadedVoices()`,
 *   `engine.phonemize(text, voice?)` (model ids per sentence), `engine.close()`.
 */
export { PiperEngine, peakNormalize, type EngineConfig, type EngineHooks, type PhonemizedSentence, type SynthesisStats } from './engine.js';
export { createTtsComponent, type TtsComponentDeps } from './component.js';
export {
  VoiceError,
  VoiceNotFoundError,
  InvalidVoiceNameError,
  VoiceLoadError,
  UnknownSpeakerError,
  PhonemizerError,
  PhonemizerCrashedError,
  PhonemizerTimeoutError,
} from './errors.js';
export { normalizeText } from './normalize.js';
export { loadVoice, voicePaths, type PiperVoice } from './voice.js';
export type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from './types.js';
