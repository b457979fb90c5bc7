import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWav, encodeWav } from './wav.js';

describe('WAV', () => {
  it('round-trips 16-bit mono PCM with its sample rate', () => {
    const samples = Int16Array.from({ length: 1000 }, (_, i) => ((i * 37) % 65536) - 32768);
    const bytes = encodeWav(samples, 22050);
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'RIFF');
    assert.equal(bytes.length, 44 + samples.length * 2);
    const decoded = decodeWav(bytes);
    assert.equal(decoded.sampleRate, 22050);
    assert.equal(decoded.channels, 1);
    assert.deepEqual(decoded.samples, samples);
  });

  it('throws on bytes that are not a WAVE file', () => {
    assert.throws(() => decodeWav(new TextEncoder().encode('not a wave file at all')));
  });
});
