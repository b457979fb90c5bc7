import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Framer } from '../../src/audio/framer.js';

function ramp(n: number, start = 0): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => (start + i) % 30000);
}

describe('Framer', () => {
  it('cuts 20 ms frames of exactly rate/50 samples', () => {
    for (const rate of [48000, 24000, 22050, 16000]) {
      const f = new Framer(rate);
      assert.equal(f.samplesPerFrame, rate / 50);
    }
  });

  it('carries the remainder across pushes so frames are contiguous and in order', () => {
    const framer = new Framer(48000);
    const input = ramp(960 * 5 + 123);
    const frames: Int16Array[] = [];
    for (const size of [1, 500, 959, 961, 2000, input.length - 4421]) {
      const offset = frames.length * 960 + framer.buffered;
      frames.push(...framer.push(input.subarray(offset, offset + size)));
    }
    assert.equal(frames.length, 5);
    assert.equal(framer.buffered, 123);
    frames.forEach((frame, k) => {
      assert.equal(frame.length, 960);
      assert.deepEqual(frame, input.subarray(k * 960, (k + 1) * 960));
    });
    const last = framer.flush();
    assert.ok(last);
    assert.equal(last.length, 960);
    assert.deepEqual(last.subarray(0, 123), input.subarray(960 * 5));
    assert.ok(last.subarray(123).every((v) => v === 0));
    assert.equal(framer.flush(), null);
  });

  it('returns the trimmed remainder when padding is not wanted', () => {
    const framer = new Framer(16000);
    framer.push(ramp(400));
    assert.equal(framer.flush(false)?.length, 80);
  });

  it('does not alias frames it already returned', () => {
    const framer = new Framer(16000);
    const [a] = framer.push(ramp(320));
    const [b] = framer.push(ramp(320, 5));
    assert.notEqual(a!.buffer, b!.buffer);
    assert.equal(a![0], 0);
  });

  it('rejects a frame length that is not a whole number of samples', () => {
    assert.throws(() => new Framer(22050, 10.01), RangeError);
    assert.throws(() => new Framer(11025), RangeError);
  });

  it('rounds such a frame length to the nearest whole number of samples when asked', () => {
    assert.equal(new Framer(11025, 20, { round: true }).samplesPerFrame, 221);
    assert.equal(new Framer(22050, 20, { round: true }).samplesPerFrame, 441);
    assert.equal(new Framer(1000, 0.1, { round: true }).samplesPerFrame, 1);
  });
});
