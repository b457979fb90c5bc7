/**
 * Audio utilities shared by the TTS engine, the legacy server and the LiveKit adapter.
 *
 * - `Resampler(inRate, outRate)`: streaming band-limited resampler; `push(int16)` returns what is
 *   ready, `flush()` the rest; chunking never changes the output. `Resampler.oneShot(...)`.
 * - `Framer(sampleRate, frameMs = 20)`: fixed-size frames with the remainder carried across pushes.
 * - `encodeWav` / `decodeWav`: 16-bit PCM WAVE files.
 */
export { Resampler, concatInt16, clampInt16 } from './resampler.js';
export { Framer } from './framer.js';
export { encodeWav, decodeWav, type PcmAudio } from './wav.js';
