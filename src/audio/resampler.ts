/**
 * Streaming band-limited resampler (Kaiser-windowed sinc, polyphase, rational ratio).
 *
 * Why our own: @livekit/rtc-node's soxr-based AudioResampler dithers its int16 output, so two
 * identical runs differ by up to 2 LSB and chunked output cannot match one-shot output; the
 * maintained wasm alternatives are async to create and lack an end-of-input flush. This one is
 * deterministic: output sample j depends only on the input, never on how it was chunked, and is
 * aligned with input time j * inRate / outRate (zero delay, no leading silence).
 */

/** Zero crossings of the sinc on each side of the centre (filter quality vs cost). */
const HALF_ZERO_CROSSINGS = 16;
/** Pass band edge as a fraction of the lower Nyquist frequency. */
const CUTOFF = 0.94;
const KAISER_BETA = 8.6;
/** Largest polyphase table we build (interpolation factor after reducing the ratio). */
const MAX_PHASES = 4096;

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly up: number;
  private readonly down: number;
  /** Filter taps per phase and the input offset of tap 0 relative to the centre sample. */
  private readonly taps: number;
  private readonly firstTap: number;
  private readonly table: Float64Array;
  /** Input not yet fully used, starting at absolute input index `bufStart`. */
  private buf: Float64Array = new Float64Array(0);
  private bufStart = 0;
  private inCount = 0;
  /** Next output sample index (absolute). */
  private outIndex = 0;
  private flushed = false;

  constructor(inRate: number, outRate: number) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`sample rates must be positive integers (got ${inRate} -> ${outRate})`);
    }
    const g = gcd(inRate, outRate);
    this.inRate = inRate;
    this.outRate = outRate;
    this.up = outRate / g;
    this.down = inRate / g;
    if (this.up > MAX_PHASES) throw new RangeError(`unsupported resampling ratio ${inRate} -> ${outRate}`);
    // cutoff relative to the input rate's Nyquist; widen the kernel when decimating
    const fc = CUTOFF * Math.min(1, outRate / inRate);
    const halfWidth = Math.ceil(HALF_ZERO_CROSSINGS / fc);
    this.taps = 2 * halfWidth;
    this.firstTap = -halfWidth + 1;
    this.table = new Float64Array(this.up * this.taps);
    for (let phase = 0; phase < this.up; phase++) {
      const frac = phase / this.up; // output position between input samples base and base + 1
      let sum = 0;
      for (let k = 0; k < this.taps; k++) {
        const t = this.firstTap + k - frac; // distance from the output instant, in input samples
        const w = kaiser(t / (halfWidth + 1), KAISER_BETA);
        const v = fc * sinc(fc * t) * w;
        this.table[phase * this.taps + k] = v;
        sum += v;
      }
      // unity gain at DC for every phase (no ripple between phases)
      for (let k = 0; k < this.taps; k++) this.table[phase * this.taps + k]! /= sum;
    }
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
    const scale = input instanceof Float32Array ? 32768 : 1;
    const next = new Float64Array(this.buf.length + input.length);
    next.set(this.buf);
    for (let i = 0; i < input.length; i++) next[this.buf.length + i] = input[i]! * scale;
    this.buf = next;
    this.inCount += input.length;
  }

  private drain(final: boolean): Int16Array {
    const lastTap = this.firstTap + this.taps - 1;
    const totalOut = final ? Math.ceil((this.inCount * this.up) / this.down) : Infinity;
    const out: number[] = [];
    for (;;) {
      const j = this.outIndex;
      if (j >= totalOut) break;
      const pos = j * this.down;
      const base = Math.floor(pos / this.up);
      if (!final && base + lastTap >= this.inCount) break;
      const phase = pos - base * this.up;
      const row = phase * this.taps;
      let acc = 0;
      for (let k = 0; k < this.taps; k++) {
        const idx = base + this.firstTap + k - this.bufStart;
        if (idx < 0) continue; // before the stream: silence (or already consumed, never needed)
        if (idx >= this.buf.length) break; // after the end: silence
        acc += this.buf[idx]! * this.table[row + k]!;
      }
      out.push(acc);
      this.outIndex++;
    }
    // keep only the input the next output still needs
    const neededFrom = Math.floor((this.outIndex * this.down) / this.up) + this.firstTap;
    const drop = Math.min(Math.max(0, neededFrom - this.bufStart), this.buf.length);
    if (drop > 0) {
      this.buf = this.buf.slice(drop);
      this.bufStart += drop;
    }
    const result = new Int16Array(out.length);
    for (let i = 0; i < out.length; i++) result[i] = clampInt16(Math.round(out[i]!));
    return result;
  }
}

function toInt16(input: Int16Array | Float32Array): Int16Array {
  if (input instanceof Int16Array) return input.slice();
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = clampInt16(Math.round(input[i]! * 32768));
  return out;
}

export function clampInt16(v: number): number {
  return v > 32767 ? 32767 : Math.max(v , -32768);
}

export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
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
