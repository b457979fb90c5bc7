/**
 * The second reference of `npm run bench:tts`: sherpa-onnx (npm sherpa-onnx-node, a dev dependency; never product
 * code) speaking the SAME Piper voice, laid out for it by scripts/setup/sherpa-voice.sh. Runs in its own process
 * (bench/tts.ts starts it, like the Python reference) so its onnxruntime build never shares a process with ours.
 *
 * The protocol of bench/tts-reference.py, one JSON value per line: stdin {"dir": SHERPA_VOICE_DIR, "numThreads": N,
 * "noiseScale": X, "lengthScale": X, "noiseW": X}, then one text per request; stdout {sampleRate, loadSeconds} once
 * warmed up, one timing per text, {peakRssMb} when stdin ends.
 *
 * One sentence per inference (maxNumSentences 1), as Piper does; time to first audio is the first progress callback
 * (sherpa-onnx calls it once per inference with that inference's samples).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

interface Job {
  dir: string;
  numThreads: number;
  noiseScale: number;
  lengthScale: number;
  noiseW: number;
}

interface GeneratedAudio {
  samples: Float32Array;
  sampleRate: number;
}

interface SherpaTts {
  sampleRate: number;
  generateAsync(request: {
    text: string;
    sid: number;
    speed: number;
    onProgress?: (info: { samples: Float32Array; progress: number }) => number | boolean | undefined;
  }): Promise<GeneratedAudio>;
}

interface SherpaModule {
  OfflineTts: { createAsync(config: unknown): Promise<SherpaTts> };
}

interface Timing {
  ttfa: number;
  total: number;
  cpu: number;
  samples: number;
}

async function run(tts: SherpaTts, text: string): Promise<Timing> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let ttfa: number | undefined;
  let samples = 0;
  await tts.generateAsync({
    text,
    sid: 0,
    speed: 1,
    onProgress: (info) => {
      ttfa ??= (performance.now() - start) / 1000;
      samples += info.samples.length; // what a caller streams out
      return 1;
    },
  });
  const cpu = process.cpuUsage(cpuStart);
  return { ttfa: ttfa ?? 0, total: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6, samples };
}

const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('no job on stdin');
  const job = JSON.parse(first.value) as Job;
  const sherpa = createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  const t0 = performance.now();
  const tts = await sherpa.OfflineTts.createAsync({
    model: {
      vits: {
        model: join(job.dir, 'model.onnx'),
        tokens: join(job.dir, 'tokens.txt'),
        dataDir: join(job.dir, 'espeak-ng-data'),
        noiseScale: job.noiseScale,
        noiseScaleW: job.noiseW,
        lengthScale: job.lengthScale,
      },
      numThreads: job.numThreads,
      provider: 'cpu',
      debug: false,
    },
    maxNumSentences: 1,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  await run(tts, 'Hello there.'); // warm-up, like the engine's TTS_WARMUP
  reply({ sampleRate: tts.sampleRate, loadSeconds });
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (line.value.trim()) reply(await run(tts, JSON.parse(line.value) as string));
  }
  reply({ peakRssMb: process.resourceUsage().maxRSS / 1024 });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`tts-sherpa: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
