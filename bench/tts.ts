/**
 * `npm run bench:tts`: our Piper engine against two references speaking the same voice and texts in
 * the same run: the Python piper-tts 1.8.0 (bench/tts-reference.py) and sherpa-onnx through its npm
 * package sherpa-onnx-node (bench/tts-sherpa.ts; the voice laid out for it by scripts/setup/sherpa-voice.sh).
 * 20 sentences (one request each) and a 5-sentence paragraph (one request). The references stay loaded in their own
 * processes and the texts are interleaved: each text on the three engines back to back, after a short rest (see
 * SETTLE_MS), so the machine's slow phases hit all three alike. Prints real-time factor,
 * time to first audio, total time, CPU time, the sum of each text's best time over the rounds and peak RSS
 * with our ratio against each reference (means over the rounds), and checks the targets against piper-tts: total
 * <= 0.95x; paragraph TTFA <= 0.3x its paragraph time.
 * Every engine uses its defaults and the voice's own noise/length scales (sherpa-onnx, which has no
 * thread default of its own, gets one thread per core: what onnxruntime's default gives the other two).
 *
 * Environment (bench harness only): VO_TEST_VOICES_DIR (voice folder, default $VO_CACHE/voices),
 * VO_BENCH_VOICE (default en_US-joe-medium), VO_BENCH_ROUNDS (default 3), VO_BENCH_THREADS (our TTS_INTRA_OP_THREADS, default
 * the product default), VO_BENCH_SPIN=0|1 (our TTS_THREAD_SPINNING; default `auto`, which spins as the
 * legacy-mode server does), VO_BENCH_WIDE=0|1 (our TTS_WIDE_CONVOLUTIONS), VO_BENCH_LAYER_NORMS=0|1 (our
 * TTS_FUSE_LAYER_NORMS), VO_BENCH_SPLINES=0|1 (our TTS_DENSE_SPLINES),
 * VO_BENCH_ATTENTION=0|1 (our TTS_DENSE_ATTENTION), VO_BENCH_PARALLEL_DECODER=0|1 (our TTS_PARALLEL_DECODER); all default
 * to the product default.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { peerCacheDir } from '../test/support/cache.js';
import { requireTestVoice, TEST_VOICE } from '../test/support/voices.js';
import { VARIABLES } from '../src/config/schema.js';
import { PiperEngine } from '../src/tts/index.js';

/** The bench's on/off switches (VO_BENCH_X=0|1) and the engine setting each sets. */
const BENCH_SWITCHES = {
  VO_BENCH_SPIN: 'TTS_THREAD_SPINNING',
  VO_BENCH_WIDE: 'TTS_WIDE_CONVOLUTIONS',
  VO_BENCH_LAYER_NORMS: 'TTS_FUSE_LAYER_NORMS',
  VO_BENCH_SPLINES: 'TTS_DENSE_SPLINES',
  VO_BENCH_ATTENTION: 'TTS_DENSE_ATTENTION',
  VO_BENCH_PARALLEL_DECODER: 'TTS_PARALLEL_DECODER',
} as const;

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

/** One engine under test: times one text (time to first audio, total, CPU, samples). */
interface Contender {
  name: string;
  time(text: string): Promise<Timing>;
}

/**
 * A reference in its own process, serving one text per request (protocol: bench/tts-reference.py): it stays
 * loaded, so the texts can be interleaved with the other engines'.
 */
class ReferenceProcess implements Contender {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  sampleRate = 0;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(name: string, command: string, args: string[], job: object): Promise<ReferenceProcess> {
    const proc = new ReferenceProcess(name, spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    proc.child.stdin.write(`${JSON.stringify(job)}\n`);
    proc.sampleRate = ((await proc.reply()) as { sampleRate: number }).sampleRate;
    return proc;
  }

  async time(text: string): Promise<Timing> {
    this.child.stdin.write(`${JSON.stringify(text)}\n`);
    return (await this.reply()) as Timing;
  }

  /** Ends it; its peak RSS in MB. */
  async finish(): Promise<number> {
    this.child.stdin.end();
    return ((await this.reply()) as { peakRssMb: number }).peakRssMb;
  }

  private async reply(): Promise<unknown> {
    const line = await this.lines.next();
    if (line.done) {
      const code = await new Promise<number | null>((res) => (this.child.exitCode !== null ? res(this.child.exitCode) : this.child.on('close', res)));
      throw new Error(`${this.name} stopped (exit ${code}): ${this.stderr.slice(-1000)}`);
    }
    return JSON.parse(line.value);
  }
}

const here = dirname(fileURLToPath(import.meta.url));

function startReference(voicesDir: string): Promise<ReferenceProcess> {
  return ReferenceProcess.start('piper-tts', referencePython(), [join(here, 'tts-reference.py')], { model: join(voicesDir, `${voiceName}.onnx`) });
}

function startSherpa(voicesDir: string, sherpaDir: string): Promise<ReferenceProcess> {
  // the voice's own inference settings, as piper-tts and our engine use them
  const config = JSON.parse(readFileSync(join(voicesDir, `${voiceName}.onnx.json`), 'utf8')) as {
    inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  };
  return ReferenceProcess.start('sherpa-onnx', process.execPath, ['--import', import.meta.resolve('tsx'), join(here, 'tts-sherpa.ts')], {
    dir: sherpaDir,
    numThreads: availableParallelism(),
    noiseScale: config.inference?.noise_scale ?? 0.667,
    lengthScale: config.inference?.length_scale ?? 1,
    noiseW: config.inference?.noise_w ?? 0.8,
  });
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

/**
 * Each text is timed on every engine back to back, in an order that turns with each text, so a slow phase of the
 * machine (they last seconds to minutes here) hits all of them alike. Before each timing the machine rests for
 * SETTLE_MS: longer than onnxruntime's pool threads keep spinning after a run (about 40 ms here, in the references;
 * ours stops at once), so no engine's threads still hold a core while another's text is timed.
 */
const SETTLE_MS = 100;

async function interleavedRounds(contenders: Contender[], results: Result[]): Promise<void> {
  const texts = [...SENTENCES, PARAGRAPH];
  const secs = (x: Round) => x.sentences.reduce((a, s) => a + s.total, 0) + x.paragraph.total;
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}/${rounds}: ${texts.length} texts, each on ${contenders.map((c) => c.name).join(', ')} in turn...`);
    const timings = contenders.map((): Timing[] => []);
    for (const [i, text] of texts.entries()) {
      for (let k = 0; k < contenders.length; k++) {
        const c = (r * texts.length + i + k) % contenders.length;
        await new Promise((res) => setTimeout(res, SETTLE_MS));
        timings[c]!.push(await contenders[c]!.time(text));
      }
    }
    for (const [c, t] of timings.entries()) results[c]!.rounds.push({ sentences: t.slice(0, -1), paragraph: t.at(-1)! });
    const t = results.map((x) => secs(x.rounds.at(-1)!));
    const last = contenders.length - 1;
    const ratios = contenders.slice(0, last).map((c, i) => `${contenders[last]!.name}/${c.name} ${(t[last]! / t[i]!).toFixed(2)}`);
    console.log(`  round ${r + 1}: ${contenders.map((c, i) => `${c.name} ${t[i]!.toFixed(2)} s`).join(', ')} (${ratios.join(', ')})`);
  }
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

/** Each figure is the mean over the rounds: with the texts interleaved, every round saw the machine as the others did. */
function summarize(r: Result): Summary {
  const mean = (f: (x: Round) => number) => r.rounds.reduce((a, x) => a + f(x), 0) / r.rounds.length;
  const sum = (t: Timing[], k: keyof Timing) => t.reduce((a, x) => a + x[k], 0);
  return {
    sentencesTotal: mean((x) => sum(x.sentences, 'total')),
    sentencesAudio: mean((x) => sum(x.sentences, 'samples')) / r.sampleRate,
    sentencesTtfa: mean((x) => sum(x.sentences, 'ttfa') / x.sentences.length),
    paragraphTtfa: mean((x) => x.paragraph.ttfa),
    paragraphTotal: mean((x) => x.paragraph.total),
    paragraphAudio: mean((x) => x.paragraph.samples) / r.sampleRate,
    cpu: mean((x) => sum(x.sentences, 'cpu') + x.paragraph.cpu),
    perTextBest:
      r.rounds[0]!.sentences.reduce((a, _, i) => a + Math.min(...r.rounds.map((x) => x.sentences[i]!.total)), 0) +
      Math.min(...r.rounds.map((x) => x.paragraph.total)),
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
  console.log(`TTS benchmark: voice ${voiceName}, ${SENTENCES.length} sentences + a 5-sentence paragraph, ${rounds} interleaved round(s)`);
  const threads = process.env.VO_BENCH_THREADS;
  // each on/off switch the bench takes (0 or 1), with the engine setting it sets; unset: the product default
  const switches = Object.entries(BENCH_SWITCHES).flatMap(([env, setting]) => {
    const value = process.env[env];
    return value === '0' || value === '1' ? [[setting, value === '1']] : [];
  });
  const engine = new PiperEngine({
    VOICES_DIR: voicesDir,
    TTS_VOICE: voiceName,
    TTS_MAX_VOICES: 1,
    TTS_INTRA_OP_THREADS: threads ? Number(threads) : Number(VARIABLES.TTS_INTRA_OP_THREADS.default),
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
    ...Object.fromEntries(switches),
  });
  const [, piper, sherpaRef] = await Promise.all([engine.load(voiceName, true), startReference(voicesDir), startSherpa(voicesDir, sherpaDir)]);
  await timeOurs(engine, 'Hello there.'); // after the references' warm-ups, which loaded in parallel with ours
  const oursResult: Result = { sampleRate: await engine.sampleRate(), rounds: [], peakRssMb: 0 };
  const refResult: Result = { sampleRate: piper.sampleRate, rounds: [], peakRssMb: 0 };
  const sherpaResult: Result = { sampleRate: sherpaRef.sampleRate, rounds: [], peakRssMb: 0 };
  const oursEngine: Contender = { name: 'ours', time: (text) => timeOurs(engine, text) };
  await interleavedRounds([piper, sherpaRef, oursEngine], [refResult, sherpaResult, oursResult]);
  refResult.peakRssMb = await piper.finish();
  sherpaResult.peakRssMb = await sherpaRef.finish();
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
