/**
 * `npm run bench:tts`: our Piper engine against two references speaking the same voice and texts in
 * the same run: the Python piper-tts 1.8.0 (bench/tts-reference.py) and sherpa-onnx through its npm
 * package sherpa-onnx-node (bench/tts-sherpa.ts; the voice laid out for it by scripts/setup/sherpa-voice.sh).
 * 20 sentences (one request each) and a 5-sentence paragraph (one request). Prints real-time factor,
 * time to first audio, total time, CPU time, the sum of each text's best time over the rounds and peak RSS
 * with our ratio against each reference, and checks the targets against piper-tts (best round): total
 * <= 0.95x; paragraph TTFA <= 0.3x its paragraph time.
 * Every engine uses its defaults and the voice's own noise/length scales (sherpa-onnx, which has no
 * thread default of its own, gets one thread per core: what onnxruntime's default gives the other two).
 *
 * Environment (bench harness only): VO_TEST_VOICES_DIR (voice folder, default $VO_CACHE/voices),
 * VO_BENCH_VOICE (default en_US-joe-medium), VO_BENCH_ROUNDS (default 3, best round of each engine
 * reported; rounds alternate between the engines), VO_BENCH_THREADS (our TTS_INTRA_OP_THREADS, default
 * the product default), VO_BENCH_SPIN=0|1 (our TTS_THREAD_SPINNING; default `auto`, which spins as the
 * legacy-mode server does), VO_BENCH_WIDE=0|1 (our TTS_WIDE_CONVOLUTIONS), VO_BENCH_LAYER_NORMS=0|1 (our
 * TTS_FUSE_LAYER_NORMS; both default to the product default).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerCacheDir } from '../test/support/cache.js';
import { requireTestVoice, TEST_VOICE } from '../test/support/voices.js';
import { VARIABLES } from '../src/config/schema.js';
import { PiperEngine } from '../src/tts/index.js';

const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please remember to bring your umbrella tomorrow.',
  'Our meeting has been moved to three thirty in the afternoon.',
  'How many people are coming to the party on Saturday?',
  'The train to Boston leaves from platform number seven.',
  'I am sorry, but the store is already closed for the day.',
  'Could you please turn down the music a little bit?',
  'The weather forecast says it will rain all weekend.',
  'She has been learning to play the piano for five years.',
  'Your package was delivered to the front door this morning.',
  'We need to buy milk, eggs, bread and some fresh fruit.',
  'The museum is open every day except Monday.',
  'He called to say that he will be about ten minutes late.',
  'Thank you for waiting, your call is important to us.',
  'The restaurant on the corner serves excellent pasta.',
  'Do not forget to lock the door when you leave.',
  'It takes about two hours to drive to the coast from here.',
  'The children were playing happily in the garden.',
  'Please check your email for the confirmation code.',
  'Good night, and sleep well.',
];

const PARAGRAPH =
  'Welcome to the voice assistant demonstration. Today we will look at how speech is produced one sentence at a time. ' +
  'The first sentence should reach your ears while the rest is still being prepared. ' +
  'This keeps the conversation feeling quick and natural, even for long answers. ' +
  'Thank you for listening, and have a wonderful day.';

interface Timing {
  ttfa: number;
  total: number;
  /** CPU seconds the process used (all threads): steadier than wall time on a busy machine. */
  cpu: number;
  samples: number;
}
interface Round {
  sentences: Timing[];
  paragraph: Timing;
}
interface Result {
  sampleRate: number;
  rounds: Round[];
  peakRssMb: number;
}

const voiceName = process.env.VO_BENCH_VOICE ?? TEST_VOICE;
const rounds = Math.max(1, Number(process.env.VO_BENCH_ROUNDS ?? 3) || 3);

function referencePython(): string {
  const python = join(peerCacheDir(), 'venv-ref', 'bin', 'python');
  if (!existsSync(python)) throw new Error('reference venv missing: run bash scripts/setup/piper-ref.sh');
  return python;
}

function sherpaVoiceDir(): string {
  const dir = join(peerCacheDir(), 'sherpa-voices', voiceName);
  if (!existsSync(join(dir, 'model.onnx')) || !existsSync(join(dir, 'tokens.txt')) || !existsSync(join(dir, 'espeak-ng-data'))) {
    throw new Error(
      `voice ${voiceName} is not laid out for sherpa-onnx: run bash scripts/setup/sherpa-voice.sh (with VO_BENCH_VOICE=${voiceName} for a voice other than the default)`,
    );
  }
  return dir;
}

/** Runs one reference in its own process: JSON job on stdin, one JSON Result line on stdout. */
async function runChild(name: string, command: string, args: string[], job: object): Promise<Result> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(JSON.stringify({ ...job, sentences: SENTENCES, paragraph: PARAGRAPH, rounds: 1 }));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`${name} failed (exit ${code}): ${err.slice(-1000)}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
}

const here = dirname(fileURLToPath(import.meta.url));

function runReference(voicesDir: string): Promise<Result> {
  return runChild('reference piper-tts', referencePython(), [join(here, 'tts-reference.py')], { model: join(voicesDir, `${voiceName}.onnx`) });
}

function runSherpa(voicesDir: string, sherpaDir: string): Promise<Result> {
  // the voice's own inference settings, as piper-tts and our engine use them
  const config = JSON.parse(readFileSync(join(voicesDir, `${voiceName}.onnx.json`), 'utf8')) as {
    inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  };
  return runChild('sherpa-onnx', process.execPath, ['--import', import.meta.resolve('tsx'), join(here, 'tts-sherpa.ts')], {
    dir: sherpaDir,
    numThreads: availableParallelism(),
    noiseScale: config.inference?.noise_scale ?? 0.667,
    lengthScale: config.inference?.length_scale ?? 1,
    noiseW: config.inference?.noise_w ?? 0.8,
  });
}

function addRound(into: Result, r: Result): void {
  into.sampleRate = r.sampleRate;
  into.rounds.push(...r.rounds);
  into.peakRssMb = Math.max(into.peakRssMb, r.peakRssMb);
}

async function timeOurs(engine: PiperEngine, text: string): Promise<Timing> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let ttfa: number | undefined;
  let samples = 0;
  for await (const chunk of engine.synthesize(text)) {
    ttfa ??= (performance.now() - start) / 1000;
    samples += chunk.pcm.length;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { ttfa: ttfa ?? 0, total: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6, samples };
}

async function oursRound(engine: PiperEngine): Promise<Round> {
  // each reference runs its round in a fresh process that warms its voice up right before the texts; ours gets the
  // same warm-up right before its round, after the references' processes had the cores and caches
  await timeOurs(engine, 'Hello there.');
  const sentences: Timing[] = [];
  for (const s of SENTENCES) sentences.push(await timeOurs(engine, s));
  return { sentences, paragraph: await timeOurs(engine, PARAGRAPH) };
}

interface Summary {
  sentencesTotal: number;
  sentencesAudio: number;
  sentencesTtfa: number;
  paragraphTtfa: number;
  paragraphTotal: number;
  paragraphAudio: number;
  cpu: number;
  /** Each text's best time over the rounds, summed: less swayed than one round by other load on a shared machine. */
  perTextBest: number;
  peakRssMb: number;
}

function summarize(r: Result): Summary {
  const sum = (t: Timing[], k: keyof Timing) => t.reduce((a, x) => a + x[k], 0);
  // best round by overall time: the least disturbed by other load on the machine
  const best = [...r.rounds].sort((a, b) => sum(a.sentences, 'total') + a.paragraph.total - (sum(b.sentences, 'total') + b.paragraph.total))[0]!;
  return {
    sentencesTotal: sum(best.sentences, 'total'),
    sentencesAudio: sum(best.sentences, 'samples') / r.sampleRate,
    sentencesTtfa: sum(best.sentences, 'ttfa') / best.sentences.length,
    paragraphTtfa: best.paragraph.ttfa,
    paragraphTotal: best.paragraph.total,
    paragraphAudio: best.paragraph.samples / r.sampleRate,
    cpu: sum(best.sentences, 'cpu') + best.paragraph.cpu,
    perTextBest:
      best.sentences.reduce((a, _, i) => a + Math.min(...r.rounds.map((x) => x.sentences[i]!.total)), 0) + Math.min(...r.rounds.map((x) => x.paragraph.total)),
    peakRssMb: r.peakRssMb,
  };
}

function table(ours: Summary, ref: Summary, sherpa: Summary): string {
  const rows: Array<[string, (s: Summary) => number, (n: number) => string]> = [
    ['20 sentences: total time (s)', (x) => x.sentencesTotal, (n) => n.toFixed(2)],
    ['20 sentences: audio (s)', (x) => x.sentencesAudio, (n) => n.toFixed(2)],
    ['20 sentences: real-time factor', (x) => x.sentencesTotal / x.sentencesAudio, (n) => n.toFixed(3)],
    ['20 sentences: mean time to first audio (ms)', (x) => x.sentencesTtfa * 1000, (n) => n.toFixed(0)],
    ['paragraph: time to first audio (ms)', (x) => x.paragraphTtfa * 1000, (n) => n.toFixed(0)],
    ['paragraph: total time (s)', (x) => x.paragraphTotal, (n) => n.toFixed(2)],
    ['paragraph: real-time factor', (x) => x.paragraphTotal / x.paragraphAudio, (n) => n.toFixed(3)],
    ['all: total time (s)', (x) => x.sentencesTotal + x.paragraphTotal, (n) => n.toFixed(2)],
    ['all: CPU time, all threads (s)', (x) => x.cpu, (n) => n.toFixed(2)],
    ['all: sum of per-text best times (s)', (x) => x.perTextBest, (n) => n.toFixed(2)],
    ['peak RSS (MB)', (x) => x.peakRssMb, (n) => n.toFixed(0)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const head = [
    ['ours', 9],
    ['piper-tts', 9],
    ['ratio', 6],
    ['sherpa-onnx', 11],
    ['ratio', 6],
  ] as const;
  const lines = [`${'metric'.padEnd(w)}  ${head.map(([h, n]) => h.padStart(n)).join('  ')}`];
  lines.push('-'.repeat(lines[0]!.length));
  for (const [name, get, fmt] of rows) {
    const [a, b, c] = [get(ours), get(ref), get(sherpa)];
    const cells = [fmt(a).padStart(9), fmt(b).padStart(9), (a / b).toFixed(2).padStart(6), fmt(c).padStart(11), (a / c).toFixed(2).padStart(6)];
    lines.push(`${name.padEnd(w)}  ${cells.join('  ')}`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const voicesDir = requireTestVoice(voiceName);
  const sherpaDir = sherpaVoiceDir();
  console.log(`TTS benchmark: voice ${voiceName}, ${SENTENCES.length} sentences + a 5-sentence paragraph, best of ${rounds} round(s)`);
  const threads = process.env.VO_BENCH_THREADS;
  const spin = process.env.VO_BENCH_SPIN;
  const wide = process.env.VO_BENCH_WIDE;
  const layerNorms = process.env.VO_BENCH_LAYER_NORMS;
  const engine = new PiperEngine({
    VOICES_DIR: voicesDir,
    TTS_VOICE: voiceName,
    TTS_MAX_VOICES: 1,
    TTS_INTRA_OP_THREADS: threads ? Number(threads) : Number(VARIABLES.TTS_INTRA_OP_THREADS.default),
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
    ...(spin === '0' || spin === '1' ? { TTS_THREAD_SPINNING: spin === '1' } : {}),
    ...(wide === '0' || wide === '1' ? { TTS_WIDE_CONVOLUTIONS: wide === '1' } : {}),
    ...(layerNorms === '0' || layerNorms === '1' ? { TTS_FUSE_LAYER_NORMS: layerNorms === '1' } : {}),
  });
  await engine.load(voiceName, true);
  const oursResult: Result = { sampleRate: await engine.sampleRate(), rounds: [], peakRssMb: 0 };
  const refResult: Result = { sampleRate: 0, rounds: [], peakRssMb: 0 };
  const sherpaResult: Result = { sampleRate: 0, rounds: [], peakRssMb: 0 };
  const secs = (x: Round) => x.sentences.reduce((a, s) => a + s.total, 0) + x.paragraph.total;
  // rounds alternate between the engines so load from other processes hits them alike
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}/${rounds}: reference (Python piper-tts 1.8.0)...`);
    addRound(refResult, await runReference(voicesDir));
    console.log(`round ${r + 1}/${rounds}: reference (sherpa-onnx-node)...`);
    addRound(sherpaResult, await runSherpa(voicesDir, sherpaDir));
    console.log(`round ${r + 1}/${rounds}: ours (TypeScript engine, onnxruntime-node)...`);
    oursResult.rounds.push(await oursRound(engine));
    console.log(
      `  round ${r + 1}: piper-tts ${secs(refResult.rounds.at(-1)!).toFixed(2)} s, sherpa-onnx ${secs(sherpaResult.rounds.at(-1)!).toFixed(2)} s, ours ${secs(oursResult.rounds.at(-1)!).toFixed(2)} s`,
    );
  }
  await engine.close();
  oursResult.peakRssMb = process.resourceUsage().maxRSS / 1024;
  const ref = summarize(refResult);
  const sherpa = summarize(sherpaResult);
  const ours = summarize(oursResult);
  console.log(`\n${table(ours, ref, sherpa)}\n`);
  const total = (x: Summary) => x.sentencesTotal + x.paragraphTotal;
  const totalRatio = total(ours) / total(ref);
  const ttfaRatio = ours.paragraphTtfa / ref.paragraphTotal;
  const ok1 = totalRatio <= 0.95;
  const ok2 = ttfaRatio <= 0.3;
  console.log(`target total time <= 0.95x reference piper-tts: ${totalRatio.toFixed(2)}x  ${ok1 ? 'PASS' : 'FAIL'}`);
  console.log(`target paragraph TTFA <= 0.3x reference paragraph time: ${ttfaRatio.toFixed(2)}x  ${ok2 ? 'PASS' : 'FAIL'}`);
  console.log(`(for comparison) total time against sherpa-onnx: ${(total(ours) / total(sherpa)).toFixed(2)}x`);
  console.log(
    `(for comparison) sum of per-text best times against piper-tts: ${(ours.perTextBest / ref.perTextBest).toFixed(2)}x, against sherpa-onnx: ${(ours.perTextBest / sherpa.perTextBest).toFixed(2)}x`,
  );
  return ok1 && ok2 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:tts: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
