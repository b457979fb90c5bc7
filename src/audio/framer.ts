/**
 * Cuts a PCM stream into fixed-duration frames (20 ms by default), carrying the remainder from
 * one push to the next so frame boundaries never depend on how the input was chunked.
 */
export class Framer {
  readonly samplesPerFrame: number;
  private pending: Int16Array;
  private fill = 0;

  /**
   * `round`: frames of the whole number of samples nearest to `frameMs` (at least one) where
   * `frameMs` is not a whole number of samples at this rate (20 ms at 11025 Hz: 221 samples),
   * instead of throwing a RangeError.
   */
  constructor(
    readonly sampleRate: number,
    frameMs = 20,
    options: { round?: boolean } = {},
  ) {
    const exact = (sampleRate * frameMs) / 1000;
    const n = options.round ? Math.max(1, Math.round(exact)) : exact;
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`${frameMs} ms at ${sampleRate} Hz is not a whole number of samples`);
    }
    this.samplesPerFrame = n;
    this.pending = new Int16Array(n);
  }

  /** Returns every complete frame now available (each a fresh array of exactly samplesPerFrame). */
  push(samples: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let offset = 0;
    if (this.fill > 0) {
      const take = Math.min(this.samplesPerFrame - this.fill, samples.length);
      this.pending.set(samples.subarray(0, take), this.fill);
      this.fill += take;
      offset = take;
      if (this.fill < this.samplesPerFrame) return frames;
      frames.push(this.pending);
      this.pending = new Int16Array(this.samplesPerFrame);
      this.fill = 0;
    }
    while (samples.length - offset >= this.samplesPerFrame) {
      frames.push(samples.slice(offset, offset + this.samplesPerFrame));
      offset += this.samplesPerFrame;
    }
    if (offset < samples.length) {
      this.pending.set(samples.subarray(offset), 0);
      this.fill = samples.length - offset;
    }
    return frames;
  }

  /** Samples waiting for a full frame. */
  get buffered(): number {
    return this.fill;
  }

  /**
   * Ends the stream: returns the last partial frame, zero-padded to a full frame when `pad` is
   * true (what real-time audio sinks need) or trimmed otherwise; null when nothing is left.
   */
  flush(pad = true): Int16Array | null {
    if (this.fill === 0) return null;
    const last = pad ? this.pending : this.pending.slice(0, this.fill);
    this.pending = new Int16Array(this.samplesPerFrame);
    this.fill = 0;
    return last;
  }
}
