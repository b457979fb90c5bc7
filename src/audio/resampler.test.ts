import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatInt16, Resampler } from './resampler.js';

function sine(freq: number, rate: number, seconds: number, amplitude = 12000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

function rms(x: Int16Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

/** Frequency from interpolated rising zero crossings (independent of the resampler's maths). */
function frequency(x: Int16Array, rate: number, from: number, to: number): number {
  const crossings: number[] = [];
  for (let i = from + 1; i < to; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if (a < 0 && b >= 0) crossings.push(i - 1 + -a / (b - a));
  }
  return ((crossings.length - 1) * rate) / (crossings.at(-1)! - crossings[0]!);
}

function resampleInChunks(x: Int16Array, inRate: number, outRate: number, sizes: number[]): Int16Array {
  const r = new Resampler(inRate, outRate);
  const parts: Int16Array[] = [];
  let offset = 0;
  let i = 0;
  while (offset < x.length) {
    const size = sizes[i++ % sizes.length]!;
    parts.push(r.push(x.subarray(offset, offset + size)));
    offset += size;
  }
  parts.push(r.flush());
  return concatInt16(parts);
}

describe('Resampler', () => {
  for (const [inRate, outRate] of [
    [22050, 48000],
    [22050, 24000],
    [16000, 48000],
    [48000, 16000],
    [22050, 16000],
  ] as const) {
    it(`keeps a 1 kHz sine's frequency and RMS within 1 % from ${inRate} to ${outRate} Hz`, () => {
      const input = sine(1000, inRate, 1);
      const output = Resampler.oneShot(input, inRate, outRate);
      assert.equal(output.length, Math.ceil((input.length * outRate) / inRate));
      const margin = Math.round(outRate * 0.05); // ignore the edges where the signal starts/stops
      const f = frequency(output, outRate, margin, output.length - margin);
      const inRms = rms(input, Math.round(inRate * 0.05), input.length - Math.round(inRate * 0.05));
      const outRms = rms(output, margin, output.length - margin);
      assert.ok(Math.abs(f - 1000) / 1000 < 0.01, `frequency ${f.toFixed(2)} Hz`);
      assert.ok(Math.abs(outRms - inRms) / inRms < 0.01, `rms ${outRms.toFixed(1)} vs ${inRms.toFixed(1)}`);
    });
  }

  it('removes content above the new Nyquist frequency when downsampling', () => {
    const input = sine(10000, 48000, 0.5);
    const output = Resampler.oneShot(input, 48000, 16000);
    const r = rms(output, 800, output.length - 800);
    assert.ok(r < 12000 * Math.SQRT1_2 * 0.01, `10 kHz leaked through at rms ${r.toFixed(1)}`);
  });

  it('gives the same samples whether the input arrives in one piece or in odd-sized chunks', () => {
    const input = sine(440, 22050, 0.7);
    for (let i = 0; i < input.length; i += 97) input[i] = (input[i]! * 0.5) | 0; // not a pure tone
    for (const outRate of [48000, 24000, 16000]) {
      const whole = Resampler.oneShot(input, 22050, outRate);
      const chunked = resampleInChunks(input, 22050, outRate, [1, 7, 333, 2048, 5, 1024]);
      assert.equal(chunked.length, whole.length);
      let maxDiff = 0;
      for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - chunked[i]!));
      assert.ok(maxDiff <= 1, `max difference ${maxDiff} LSB at ${outRate} Hz`);
    }
  });

  it('is deterministic from one run to the next', () => {
    const input = sine(1000, 22050, 0.3);
    assert.deepEqual(Resampler.oneShot(input, 22050, 48000), Resampler.oneShot(input, 22050, 48000));
  });

  it('emits output while streaming rather than holding everything until flush', () => {
    const r = new Resampler(22050, 48000);
    const out = r.push(sine(1000, 22050, 0.1));
    assert.ok(out.length > 0.09 * 48000, `only ${out.length} samples before flush`);
  });

  it('passes samples through unchanged when the rates are equal', () => {
    const input = sine(1000, 24000, 0.1);
    assert.deepEqual(Resampler.oneShot(input, 24000, 24000), input);
  });

  it('rejects invalid rates', () => {
    assert.throws(() => new Resampler(0, 48000), RangeError);
    assert.throws(() => new Resampler(22050.5, 48000), RangeError);
  });
});
