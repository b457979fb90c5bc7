import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatInt16, rms as rmsOf } from '../../src/audio/pcm.js';
import { Resampler, resamplerFilter } from '../../src/audio/resampler.js';

function sine(freq: number, rate: number, seconds: number, amplitude = 12000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

function rms(x: Int16Array, from: number, to: number): number {
  return rmsOf(x.subarray(from, to));
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

  it('attenuates a 10 kHz tone by more than 40 dB when downsampling 48 to 16 kHz (no aliasing to 6 kHz)', () => {
    const input = sine(10000, 48000, 0.5);
    const output = Resampler.oneShot(input, 48000, 16000);
    const inRms = rms(input, 2400, input.length - 2400);
    const outRms = rms(output, 800, output.length - 800);
    const db = 20 * Math.log10(Math.max(outRms, 1e-9) / inRms);
    assert.ok(db < -40, `10 kHz came through at ${db.toFixed(1)} dB`);
  });

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

  it('gives exactly the one-shot samples when streamed in pieces of 1 to 5 samples', () => {
    const input = sine(440, 48000, 0.25);
    for (let i = 0; i < input.length; i += 31) input[i] = -input[i]!; // not a pure tone
    for (const [inRate, outRate] of [
      [48000, 16000],
      [22050, 48000],
    ] as const) {
      const whole = Resampler.oneShot(input, inRate, outRate);
      assert.deepEqual(resampleInChunks(input, inRate, outRate, [1, 2, 3, 4, 5]), whole);
    }
  });

  it('builds the filter for a rate pair once and shares it with every later resampler', () => {
    // a rate pair no other test uses, so the first construction builds its table here
    const first = new Resampler(44100, 48000);
    const second = new Resampler(44100, 48000);
    assert.equal(second.filter, first.filter);
    assert.equal(second.filter.table, first.filter.table);
    assert.equal(resamplerFilter(44100, 48000), first.filter);
    assert.notEqual(new Resampler(48000, 44100).filter, first.filter);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) new Resampler(44100, 48000);
    const ms = performance.now() - started;
    assert.ok(ms < 100, `1000 constructions took ${ms.toFixed(1)} ms`);
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
