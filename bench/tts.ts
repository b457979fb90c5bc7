/**
 * `npm run bench:tts`: our Piper engine against the reference Python piper-tts 1.8.0, same voice,
 * same texts, same run. 20 sentences (one request each) and a 5-sentence paragraph (one request).
 * Prints real-time factor, time to first audio, total time and peak RSS with ratios, and checks
 * the targets: total <= 0.95x reference; paragraph TTFA <= 0.3x the reference's paragraph time.
 *
 * Environment (bench harness only): VO_TEST_VOICES_DIR (voice folder, default $VO_CACHE/voices),
 * VO_BENCH_VOICE (default en_US-joe-medium), VO_BENCH_ROUNDS (default 3, best round of each side
 * reported; rounds alternate between the engines), VO_BENCH_THREADS (our intra-op threads, default 0),
 * VO_BENCH_SPIN=1 (let our onnxruntime threads spin, as the reference's do).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerCacheDir } from '../test/support/cache.js';
import { requireTestVoice, TEST_VOICE } from '../test/support/voices.js';
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

async function runReference(voicesDir: string): Promise<Result> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'tts-reference.py');
  const child = spawn(referencePython(), [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(JSON.stringify({ model: join(voicesDir, `${voiceName}.onnx`), sentences: SENTENCES, paragraph: PARAGRAPH, rounds: 1 }));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`reference piper-tts failed (exit ${code}): ${err.slice(-1000)}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
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
    peakRssMb: r.peakRssMb,
  };
}

function table(ours: Summary, ref: Summary): string {
  const rows: Array<[string, number, number, (n: number) => string]> = [
    ['20 sentences: total time (s)', ours.sentencesTotal, ref.sentencesTotal, (n) => n.toFixed(2)],
    ['20 sentences: audio (s)', ours.sentencesAudio, ref.sentencesAudio, (n) => n.toFixed(2)],
    ['20 sentences: real-time factor', ours.sentencesTotal / ours.sentencesAudio, ref.sentencesTotal / ref.sentencesAudio, (n) => n.toFixed(3)],
    ['20 sentences: mean time to first audio (ms)', ours.sentencesTtfa * 1000, ref.sentencesTtfa * 1000, (n) => n.toFixed(0)],
    ['paragraph: time to first audio (ms)', ours.paragraphTtfa * 1000, ref.paragraphTtfa * 1000, (n) => n.toFixed(0)],
    ['paragraph: total time (s)', ours.paragraphTotal, ref.paragraphTotal, (n) => n.toFixed(2)],
    ['paragraph: real-time factor', ours.paragraphTotal / ours.paragraphAudio, ref.paragraphTotal / ref.paragraphAudio, (n) => n.toFixed(3)],
    ['all: total time (s)', ours.sentencesTotal + ours.paragraphTotal, ref.sentencesTotal + ref.paragraphTotal, (n) => n.toFixed(2)],
    ['all: CPU time, all threads (s)', ours.cpu, ref.cpu, (n) => n.toFixed(2)],
    ['peak RSS (MB)', ours.peakRssMb, ref.peakRssMb, (n) => n.toFixed(0)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [`${'metric'.padEnd(w)}  ${'ours'.padStart(9)}  ${'piper-tts'.padStart(9)}  ${'ratio'.padStart(6)}`];
  lines.push('-'.repeat(lines[0]!.length));
  for (const [name, a, b, fmt] of rows) {
    lines.push(`${name.padEnd(w)}  ${fmt(a).padStart(9)}  ${fmt(b).padStart(9)}  ${(a / b).toFixed(2).padStart(6)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const voicesDir = requireTestVoice(voiceName);
  console.log(`TTS benchmark: voice ${voiceName}, ${SENTENCES.length} sentences + a 5-sentence paragraph, best of ${rounds} round(s)`);
  const engine = new PiperEngine(
    {
      VOICES_DIR: voicesDir,
      TTS_VOICE: voiceName,
      TTS_MAX_VOICES: 1,
      TTS_INTRA_OP_THREADS: Number(process.env.VO_BENCH_THREADS ?? 0) || 0,
      ESPEAK_LIBRARY: undefined,
      ESPEAK_DATA_PATH: undefined,
    },
    { allowSpinning: process.env.VO_BENCH_SPIN === '1' },
  );
  await engine.load(voiceName, true);
  const oursResult: Result = { sampleRate: await engine.sampleRate(), rounds: [], peakRssMb: 0 };
  const refResult: Result = { sampleRate: 0, rounds: [], peakRssMb: 0 };
  // rounds alternate between the two engines so load from other processes hits both alike
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}/${rounds}: reference (Python piper-tts 1.8.0)...`);
    const ref = await runReference(voicesDir);
    refResult.sampleRate = ref.sampleRate;
    refResult.rounds.push(...ref.rounds);
    refResult.peakRssMb = Math.max(refResult.peakRssMb, ref.peakRssMb);
    console.log(`round ${r + 1}/${rounds}: ours (TypeScript engine, onnxruntime-node)...`);
    oursResult.rounds.push(await oursRound(engine));
    const secs = (x: Round) => x.sentences.reduce((a, s) => a + s.total, 0) + x.paragraph.total;
    console.log(`  round ${r + 1}: reference ${secs(refResult.rounds.at(-1)!).toFixed(2)} s, ours ${secs(oursResult.rounds.at(-1)!).toFixed(2)} s`);
  }
  await engine.close();
  oursResult.peakRssMb = process.resourceUsage().maxRSS / 1024;
  const ref = summarize(refResult);
  const ours = summarize(oursResult);
  console.log(`\n${table(ours, ref)}\n`);
  const totalRatio = (ours.sentencesTotal + ours.paragraphTotal) / (ref.sentencesTotal + ref.paragraphTotal);
  const ttfaRatio = ours.paragraphTtfa / ref.paragraphTotal;
  const ok1 = totalRatio <= 0.95;
  const ok2 = ttfaRatio <= 0.3;
  console.log(`target total time <= 0.95x reference: ${totalRatio.toFixed(2)}x  ${ok1 ? 'PASS' : 'FAIL'}`);
  console.log(`target paragraph TTFA <= 0.3x reference paragraph time: ${ttfaRatio.toFixed(2)}x  ${ok2 ? 'PASS' : 'FAIL'}`);
  return ok1 && ok2 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:tts: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
