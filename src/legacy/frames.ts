import { endianness } from 'node:os';
import { Framer, Resampler } from '../audio/index.js';
import { FRAME_MS, SAMPLE_RATE } from './protocol.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Turns one utterance's speech chunks (any sample rate) into 48 kHz, 20 ms, s16le frames.
 * The resampler state carries over between sentences, so their boundaries leave no clicks;
 * `flush()` pads the last partial frame with silence so every frame is exactly 1 920 bytes.
 */
export class UtteranceFramer {
  private readonly resampler: Resampler;
  private readonly framer = new Framer(SAMPLE_RATE, FRAME_MS);

  constructor(readonly inputRate: number) {
    this.resampler = takeResampler(inputRate);
  }

  push(pcm: Int16Array): Buffer[] {
    return this.framer.push(this.resampler.push(pcm)).map(toBytes);
  }

  flush(): Buffer[] {
    const frames = this.framer.push(this.resampler.flush());
    const last = this.framer.flush(true);
    if (last) frames.push(last);
    return frames.map(toBytes);
  }
}

function toBytes(samples: Int16Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] ?? 0, i * 2);
  return out;
}

/**
 * Building a Resampler computes its filter table (milliseconds of CPU); utterances take a ready
 * one from this small pool, refilled after the turn, so the table is not built on the path to a
 * text's first frame. (src/audio's Resampler has no shared table cache to reuse instead.)
 */
const SPARE_RESAMPLERS = 2;
const spares = new Map<number, Resampler[]>();
let refillScheduled = false;

export function takeResampler(inputRate: number): Resampler {
  const ready = spares.get(inputRate)?.pop();
  if (!refillScheduled) {
    refillScheduled = true;
    setImmediate(() => {
      refillScheduled = false;
      for (const [rate, list] of spares) while (list.length < SPARE_RESAMPLERS) list.push(new Resampler(rate, SAMPLE_RATE));
    });
  }
  if (!spares.has(inputRate)) spares.set(inputRate, []);
  return ready ?? new Resampler(inputRate, SAMPLE_RATE);
}
