import { FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE } from './protocol.js';

/**
 * Turns one utterance's speech chunks (any sample rate) into 48 kHz, 20 ms, s16le frames.
 * The resampling state carries over between chunks, so sentence boundaries leave no clicks;
 * `flush()` pads the last partial frame with silence so every frame is exactly 1 920 bytes.
 */
export class UtteranceFramer {
  private readonly resampler: LinearResampler;
  private pending = new Int16Array(0);

  constructor(readonly inputRate: number) {
    this.resampler = new LinearResampler(inputRate, SAMPLE_RATE);
  }

  push(pcm: Int16Array): Buffer[] {
    const resampled = this.resampler.process(pcm);
    const joined = new Int16Array(this.pending.length + resampled.length);
    joined.set(this.pending, 0);
    joined.set(resampled, this.pending.length);
    const frames: Buffer[] = [];
    let offset = 0;
    while (joined.length - offset >= FRAME_SAMPLES) {
      frames.push(toLittleEndianBytes(joined.subarray(offset, offset + FRAME_SAMPLES)));
      offset += FRAME_SAMPLES;
    }
    this.pending = joined.slice(offset);
    return frames;
  }

  flush(): Buffer[] {
    if (this.pending.length === 0) return [];
    const last = new Int16Array(FRAME_SAMPLES);
    last.set(this.pending, 0);
    this.pending = new Int16Array(0);
    return [toLittleEndianBytes(last)];
  }
}

function toLittleEndianBytes(samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_BYTES);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, i * 2);
  return out;
}

/**
 * Streaming linear-interpolation resampler. Upsampling speech from 16/22.05 kHz to 48 kHz adds
 * no aliasing; for downsampling a low-pass would be needed, which no Piper voice requires.
 */
export class LinearResampler {
  private readonly step: number;
  /** Position of the next output sample, in input samples, relative to the previous chunk's last sample. */
  private position = 0;
  private last: number | undefined;

  constructor(
    readonly inputRate: number,
    readonly outputRate: number,
  ) {
    this.step = inputRate / outputRate;
  }

  process(input: Int16Array): Int16Array {
    if (this.inputRate === this.outputRate) return input.slice();
    if (input.length === 0) return new Int16Array(0);
    // Virtual signal: [last, ...input] with index 0 = last (or input[0] on the first call).
    const first = this.last ?? input[0] ?? 0;
    const at = (i: number) => (i === 0 ? first : (input[i - 1] ?? 0));
    const available = input.length; // highest usable virtual index
    if (this.last === undefined) this.position = 1;
    const out: number[] = [];
    while (this.position <= available) {
      const base = Math.floor(this.position);
      const frac = this.position - base;
      const a = at(base);
      const b = base + 1 <= available ? at(base + 1) : a;
      if (frac > 0 && base + 1 > available) break;
      out.push(Math.round(a + (b - a) * frac));
      this.position += this.step;
    }
    this.position -= available;
    this.last = input[input.length - 1];
    return Int16Array.from(out);
  }
}
