/**
 * Audio utilities shared by the TTS engine, the legacy server, the LiveKit adapter, the CLI and tests.
 *
 * - `Resampler(inRate, outRate)`: streaming band-limited resampler; `push(int16)` returns what is
 *   ready, `flush()` the rest; chunking never changes the output. `Resampler.oneShot(...)`. The
 *   filter table is built once per rate pair and shared, so a new Resampler is cheap.
 * - `Framer(sampleRate, frameMs = 20)`: fixed-size frames with the remainder carried across pushes.
 * - `encodeWav` / `decodeWav`: 16-bit PCM WAVE files; `WavFileWriter`: streams one to disk.
 * - `concatInt16`, `clampInt16`, `rms`, `int16ToLeBytes`: PCM helpers.
 */
export { Resampler } from './resampler.js';
export { Framer } from './framer.js';
export { encodeWav, decodeWav, WavFileWriter, type PcmAudio } from './wav.js';
export { clampInt16, concatInt16, firstAbove, int16ToLeBytes, rms } from './pcm.js';
