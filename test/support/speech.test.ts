import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWav, rms } from '../../src/audio/index.js';
import { pcmFrames, speak, speechToWav } from './speech.js';

describe('speak (flite)', () => {
  it('makes 16 kHz mono speech of plausible length and loudness', async () => {
    const speech = await speak('The quick brown fox jumps over the lazy dog.');
    assert.equal(speech.sampleRate, 16_000);
    assert.ok(speech.durationMs > 1500 && speech.durationMs < 6000, `duration ${speech.durationMs}`);
    assert.ok(rms(speech.pcm) > 300, `too quiet: rms ${rms(speech.pcm)}`);
  });

  it('resamples to 48 kHz keeping the duration, and pads silence on both sides', async () => {
    const base = await speak('Hello there.');
    const padded = await speak('Hello there.', { sampleRate: 48_000, padMs: 500 });
    assert.equal(padded.sampleRate, 48_000);
    assert.ok(Math.abs(padded.durationMs - (base.durationMs + 1000)) < 50, `${padded.durationMs} vs ${base.durationMs}`);
    assert.equal(rms(padded.pcm.subarray(0, 48_000 * 0.5)), 0);
    assert.equal(rms(padded.pcm.subarray(padded.pcm.length - 48_000 * 0.5)), 0);
  });

  it('round-trips through WAV and splits into fixed-size frames', async () => {
    const speech = await speak('One two three.', { sampleRate: 48_000 });
    const decoded = decodeWav(speechToWav(speech));
    assert.equal(decoded.sampleRate, 48_000);
    assert.deepEqual(decoded.pcm, speech.pcm);
    const frames = [...pcmFrames(speech.pcm, speech.sampleRate, 10)];
    assert.ok(frames.every((f) => f.length === 480));
    assert.equal(frames.length, Math.ceil(speech.pcm.length / 480));
  });
});
