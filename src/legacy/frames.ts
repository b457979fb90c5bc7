import { Framer, int16ToLeBytes, Resampler } from '../audio/index.js';
import { FRAME_MS, SAMPLE_RATE } from './protocol.js';

/**
 * Turns one utterance's speech chunks (any sample rate) into 48 kHz, 20 ms, s16le frames.
 * The resampler state carries over between sentences, so their boundaries leave no clicks;
 * `flush()` pads the last partial frame with silence so every frame is exactly 1 920 bytes.
 * A new Resampler is cheap: its filter table is built once per rate pair and shared.
 */
export class UtteranceFramer {
  private readonly resampler: Resampler;
  private readonly framer = new Framer(SAMPLE_RATE, FRAME_MS);

  constructor(readonly inputRate: number) {
    this.resampler = new Resampler(inputRate, SAMPLE_RATE);
  }

  push(pcm: Int16Array): Buffer[] {
    return this.framer.push(this.resampler.push(pcm)).map(int16ToLeBytes);
  }

  flush(): Buffer[] {
    const frames = this.framer.push(this.resampler.flush());
    const last = this.framer.flush(true);
    if (last) frames.push(last);
    return frames.map(int16ToLeBytes);
  }
}
