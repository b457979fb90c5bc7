/**
 * Streaming band-limited resampler (Kaiser-windowed sinc, polyphase, rational ratio).
 *
 * Why our own: @livekit/rtc-node's soxr-based AudioResampler dithers its int16 output, so two
 * identical runs differ by up to 2 LSB and chunked output cannot match one-shot output; the
 * maintained wasm alternatives are async to create and lack an end-of-input flush. This one is
 * deterministic: output sample j depends only on the input, never on how it was chunked, and is
 * aligned with input time j * inRate / outRate (zero delay, no leading silence).
 */

import { clampInt16, concatInt16 } from './pcm.js';

/** Zero crossings of the sinc on each side of the centre (filter quality vs cost). */
const HALF_ZERO_CROSSINGS = 16;
/** Pass band edge as a fraction of the lower Nyquist frequency. */
const CUTOFF = 0.94;
const KAISER_BETA = 8.6;
/** Largest polyphase table we build (interpolation factor after reducing the ratio). */
const MAX_PHASES = 4096;

/** A polyphase filter for one rate pair: `up` phases of `taps` coefficients each. Shared, read-only. */
export interface ResamplerFilter {
  readonly up: number;
  readonly down: number;
  readonly taps: number;
  /** Input offset of tap 0 relative to the sample at or before the output instant. */
  readonly firstTap: number;
  readonly table: Float64Array;
}

/** Filters already built, by "inRate:outRate": building one costs milliseconds of CPU. */
const filters = new Map<string, ResamplerFilter>();

/** The filter for a rate pair, built on first use and then shared by every Resampler for that pair. */
export function resamplerFilter(inRate: number, outRate: number): ResamplerFilter {
  const key = `${inRate}:${outRate}`;
  let filter = filters.get(key);
  if (!filter) {
    filter = buildFilter(inRate, outRate);
    filters.set(key, filter);
  }
  return filter;
}

function buildFilter(inRate: number, outRate: number): ResamplerFilter {
  const g = gcd(inRate, outRate);
  const up = outRate / g;
  const down = inRate / g;
  if (up > MAX_PHASES) throw new RangeError(`unsupported resampling ratio ${inRate} -> ${outRate}`);
  // cutoff relative to the input rate's Nyquist; widen the kernel when decimating
  const fc = CUTOFF * Math.min(1, outRate / inRate);
  const halfWidth = Math.ceil(HALF_ZERO_CROSSINGS / fc);
  const taps = 2 * halfWidth;
  const firstTap = -halfWidth + 1;
  const table = new Float64Array(up * taps);
  for (let phase = 0; phase < up; phase++) {
    const frac = phase / up; // output position between input samples base and base + 1
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const t = firstTap + k - frac; // distance from the output instant, in input samples
      const w = kaiser(t / (halfWidth + 1), KAISER_BETA);
      const v = fc * sinc(fc * t) * w;
      table[phase * taps + k] = v;
      sum += v;
    }
    // unity gain at DC for every phase (no ripple between phases)
    for (let k = 0; k < taps; k++) table[phase * taps + k]! /= sum;
  }
  return { up, down, taps, firstTap, table };
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** The polyphase filter, shared with every other Resampler for the same rate pair. */
  readonly filter: ResamplerFilter;
  /**
   * Input still needed, as floats: `buf[0 .. bufLength)` holds absolute input samples from
   * `bufStart`. After each push only the last taps' worth is kept (moved to the front), so the
   * buffer grows only to the largest push plus one filter length and is reused from push to push.
   */
  private buf: Float64Array;
  private bufLength = 0;
  private bufStart = 0;
  private inCount = 0;
  /** Next output sample index (absolute). */
  private outIndex = 0;
  private flushed = false;

  constructor(inRate: number, outRate: number) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`sample rates must be positive integers (got ${inRate} -> ${outRate})`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.filter = resamplerFilter(inRate, outRate);
    this.buf = new Float64Array(inRate === outRate ? 0 : 2 * this.filter.taps);
  }

  /** Feeds samples and returns every output sample that no longer depends on future input. */
  push(input: Int16Array | Float32Array): Int16Array {
    if (this.flushed) throw new Error('Resampler: push after flush');
    if (this.inRate === this.outRate) return toInt16(input);
    this.append(input);
    return this.drain(false);
  }

  /** Ends the stream: returns the remaining output (ceil(total input * outRate / inRate) in all). */
  flush(): Int16Array {
    if (this.flushed) return new Int16Array(0);
    this.flushed = true;
    if (this.inRate === this.outRate) return new Int16Array(0);
    return this.drain(true);
  }

  /** Resamples a whole signal at once. */
  static oneShot(input: Int16Array, inRate: number, outRate: number): Int16Array {
    if (inRate === outRate) return input.slice();
    const r = new Resampler(inRate, outRate);
    return concatInt16([r.push(input), r.flush()]);
  }

  private append(input: Int16Array | Float32Array): void {
    const needed = this.bufLength + input.length;
    if (needed > this.buf.length) {
      const grown = new Float64Array(Math.max(needed, 2 * this.buf.length));
      grown.set(this.buf.subarray(0, this.bufLength));
      this.buf = grown;
    }
    const scale = input instanceof Float32Array ? 32768 : 1;
    const buf = this.buf;
    const at = this.bufLength;
    for (let i = 0; i < input.length; i++) buf[at + i] = input[i]! * scale;
    this.bufLength = needed;
    this.inCount += input.length;
  }

  private drain(final: boolean): Int16Array {
    const { up, down, taps, firstTap, table } = this.filter;
    const lastTap = firstTap + taps - 1;
    // outputs j < end are ready: all of them at the end of input, otherwise those whose last tap is in
    // (floor(j * down / up) + lastTap < inCount  <=>  j < (inCount - lastTap) * up / down)
    const end = final ? Math.ceil((this.inCount * up) / down) : Math.max(this.outIndex, Math.ceil(((this.inCount - lastTap) * up) / down));
    const result = new Int16Array(end - this.outIndex);
    const buf = this.buf;
    const bufLength = this.bufLength;
    for (let n = 0; n < result.length; n++) {
      const pos = (this.outIndex + n) * down;
      const base = Math.floor(pos / up);
      const row = (pos - base * up) * taps;
      const from = base + firstTap - this.bufStart; // buffer index of tap 0
      let acc = 0;
      if (from >= 0 && from + taps <= bufLength) {
        for (let k = 0; k < taps; k++) acc += buf[from + k]! * table[row + k]!;
      } else {
        // at the start or the end of the stream: what lies outside the input is silence
        for (let k = Math.max(0, -from); k < taps && from + k < bufLength; k++) acc += buf[from + k]! * table[row + k]!;
      }
      result[n] = clampInt16(Math.round(acc));
    }
    this.outIndex = end;
    // keep only the input the next output still needs: at most one filter length
    const neededFrom = Math.floor((this.outIndex * down) / up) + firstTap;
    const drop = Math.min(Math.max(0, neededFrom - this.bufStart), bufLength);
    if (drop > 0) {
      buf.copyWithin(0, drop, bufLength);
      this.bufLength = bufLength - drop;
      this.bufStart += drop;
    }
    return result;
  }
}

function toInt16(input: Int16Array | Float32Array): Int16Array {
  if (input instanceof Int16Array) return input.slice();
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = clampInt16(Math.round(input[i]! * 32768));
  return out;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function kaiser(x: number, beta: number): number {
  if (x <= -1 || x >= 1) return 0;
  return besselI0(beta * Math.sqrt(1 - x * x)) / besselI0(beta);
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}
