/**
 * Measures the loudness of a MediaStreamTrack with an AnalyserNode and reports it ~20 times a second
 * as a value in 0..1 on a decibel scale: -60 dBFS (room noise) is 0, full scale is 1, speech lands mid-range.
 */
export class LevelMeter {
  private readonly source: MediaStreamAudioSourceNode;
  private readonly analyser: AnalyserNode;
  private readonly samples: Float32Array<ArrayBuffer>;
  private timer: number | undefined;

  constructor(
    context: AudioContext,
    track: MediaStreamTrack,
    private readonly onLevel: (level: number) => void,
  ) {
    this.source = context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
    this.timer = window.setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    const rms = Math.sqrt(sum / this.samples.length);
    const dbfs = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
    this.onLevel(Math.min(1, Math.max(0, (dbfs + 60) / 60)));
  }

  stop(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
    this.source.disconnect();
    this.analyser.disconnect();
    this.onLevel(0);
  }
}
