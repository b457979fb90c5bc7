/**
 * Legacy WebSocket server benchmark (`npm run bench:legacy`): 1, 10 and 50 concurrent sessions
 * against the real service process with the real Piper voice.
 *
 * With several sessions, each behaves like a client that plays what it receives: it sends a
 * two-sentence text, reads the audio, waits until that audio would have finished playing, thinks
 * a moment, and sends the next. A single session sends its texts back to back (nothing competes
 * with it, so waiting would only cost samples). Reported per run: first-audio latency (text sent -> first frame received),
 * server overhead (first-audio latency minus the engine's own first-sentence synthesis time, which
 * the server reports in `utterance_end`), frames per second, sequence gaps, server CPU and RSS.
 *
 * Options (environment): BENCH_LEGACY_SECONDS=20,25,0 (run length per step; 0 = each session
 * speaks one text, which keeps the overloaded 50-session step short),
 * BENCH_LEGACY_SESSIONS=1,10,50, VO_TEST_VOICES_DIR (voice folder).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { LegacyClient } from '../src/legacy/client.js';
import { percentile } from '../src/legacy/metrics.js';
import { startServerProcess } from '../test/support/legacy.js';

const TEXTS = [
  'Good morning. The weather today is mild with a light breeze from the west.',
  'Your order has shipped. It should arrive on Thursday afternoon.',
  'Thanks for waiting. A member of our team will be with you shortly.',
  'Here is the summary. Three tasks are done and two remain open.',
];

interface Sample {
  firstAudioMs: number;
  engineFirstSentenceMs: number;
  serverFirstAudioMs: number;
}

interface StepResult {
  sessions: number;
  samples: Sample[];
  frames: number;
  seconds: number;
  gaps: number;
  failedUtterances: number;
  cpuPercent: number;
  rssMaxMb: number;
}

const env = process.env;
const sessionCounts = (env['BENCH_LEGACY_SESSIONS'] ?? '1,10,50').split(',').map(Number);
const seconds = (env['BENCH_LEGACY_SECONDS'] ?? '20,25,0').split(',').map(Number);
/** Texts per session: unlimited within the run time, except the 50-session step, where each session speaks once. */
const textsPerSession = (sessions: number, runSeconds: number) => (runSeconds > 0 ? Infinity : sessions >= 50 ? 1 : 3);

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runSession(
  url: string,
  index: number,
  deadline: number,
  maxTexts: number,
  listen: boolean,
  startDelayMs: number,
  result: StepResult,
): Promise<void> {
  await sleep(startDelayMs);
  const client = await LegacyClient.connect(url, { timeoutMs: 30_000 });
  client.retainFrames = false;
  let expectedSequence = 1;
  client.on('frame', (frame: { sequence: number }) => {
    if (frame.sequence !== expectedSequence) result.gaps++;
    expectedSequence = frame.sequence + 1;
    result.frames++;
  });
  client.send({ type: 'configure', utterance_events: true });
  let n = index;
  let sent = 0;
  try {
    while (Date.now() < deadline && sent++ < maxTexts) {
      const from = client.messages.length;
      const id = `b${index}-${n}`;
      let firstFrameAt: number | undefined;
      const onFrame = (frame: { receivedAt: number }) => (firstFrameAt ??= frame.receivedAt);
      client.on('frame', onFrame);
      const sentAt = performance.now();
      client.say(TEXTS[n++ % TEXTS.length]!, { utterance_id: id });
      const end = await client.waitFor((m) => m.type === 'utterance_end' && m['utterance_id'] === id, 150_000, from);
      client.off('frame', onFrame);
      if (end['reason'] !== 'completed' || firstFrameAt === undefined) {
        result.failedUtterances++;
        continue;
      }
      result.samples.push({
        firstAudioMs: firstFrameAt - sentAt,
        engineFirstSentenceMs: Number(end['first_sentence_synthesis_ms']),
        serverFirstAudioMs: Number(end['first_audio_ms']),
      });
      if (!listen) continue;
      // "play" the audio, then think
      const playbackEnd = firstFrameAt + Number(end['frames']) * 20;
      await sleep(Math.max(0, playbackEnd - performance.now()) + 200 + Math.random() * 400);
    }
  } finally {
    client.close();
  }
}

async function runStep(url: string, pid: number, sessions: number, runSeconds: number, maxTexts: number): Promise<StepResult> {
  const result: StepResult = { sessions, samples: [], frames: 0, seconds: 0, gaps: 0, failedUtterances: 0, cpuPercent: 0, rssMaxMb: 0 };
  const ticksPerSecond = 100;
  const cpuStart = cpuTicks(pid);
  const started = performance.now();
  let rssMax = rssMb(pid);
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 250);
  const deadline = Date.now() + runSeconds * 1000;
  // arrivals spread over the first two seconds, as independent clients would come
  const spread = sessions === 1 ? 0 : 2000;
  await Promise.all(Array.from({ length: sessions }, (_, i) => runSession(url, i, deadline, maxTexts, sessions > 1, (spread * i) / sessions, result)));
  clearInterval(sampler);
  result.seconds = (performance.now() - started) / 1000;
  result.cpuPercent = ((cpuTicks(pid) - cpuStart) / ticksPerSecond / result.seconds) * 100;
  result.rssMaxMb = rssMax;
  return result;
}

function stats(values: number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50) ?? NaN, p95: percentile(sorted, 95) ?? NaN, p99: percentile(sorted, 99) ?? NaN };
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

async function main(): Promise<void> {
  process.stdout.write('starting the legacy server (real voice)...\n');
  const server = await startServerProcess({ LEGACY_MAX_CONNECTIONS: '200', LEGACY_RATE_LIMIT_PER_SEC: '100', LOG_LEVEL: 'error' });
  const pid = server.proc.pid;
  if (!pid) throw new Error('server process has no pid');
  try {
    // one utterance first, so no step pays for a cold start
    const warm = await LegacyClient.connect(server.url);
    warm.say('Warming up.');
    await warm.waitFor((m) => m.type === 'session_end', 60_000);
    warm.close();

    const results: StepResult[] = [];
    for (const [i, sessions] of sessionCounts.entries()) {
      const runSeconds = seconds[i] ?? seconds.at(-1) ?? 20;
      const maxTexts = textsPerSession(sessions, runSeconds);
      process.stdout.write(`running ${sessions} session(s) ${runSeconds > 0 ? `for ${runSeconds} s` : `, ${maxTexts} text(s) each`}...\n`);
      results.push(await runStep(server.url, pid, sessions, runSeconds > 0 ? runSeconds : 600, maxTexts));
    }

    const header = `${'sessions'.padStart(8)} ${'texts'.padStart(6)} | ${'first audio ms p50/p95/p99'.padStart(26)} | ${'overhead ms p50/p95/p99'.padStart(23)} | ${'in-server ms p50/p95'.padStart(20)} | ${'engine 1st ms p50'.padStart(17)} | ${'frames/s'.padStart(8)} | ${'gaps'.padStart(4)} | ${'fail'.padStart(4)} | ${'CPU %'.padStart(6)} | ${'RSS MB'.padStart(7)}`;
    process.stdout.write(`\n${header}\n${'-'.repeat(header.length)}\n`);
    for (const r of results) {
      const first = stats(r.samples.map((s) => s.firstAudioMs));
      const overhead = stats(r.samples.map((s) => s.firstAudioMs - s.engineFirstSentenceMs));
      const engine = stats(r.samples.map((s) => s.engineFirstSentenceMs));
      const inServer = stats(r.samples.map((s) => s.serverFirstAudioMs - s.engineFirstSentenceMs));
      const f = (s: { p50: number; p95: number; p99: number }) => `${s.p50.toFixed(0)}/${s.p95.toFixed(0)}/${s.p99.toFixed(0)}`;
      const o = (s: { p50: number; p95: number; p99: number }) => `${s.p50.toFixed(1)}/${s.p95.toFixed(1)}/${s.p99.toFixed(1)}`;
      process.stdout.write(
        `${pad(r.sessions, 8)} ${pad(r.samples.length, 6)} | ${pad(f(first), 26)} | ${pad(o(overhead), 23)} | ${pad(`${inServer.p50.toFixed(1)}/${inServer.p95.toFixed(1)}`, 20)} | ${pad(engine.p50.toFixed(0), 17)} | ${pad((r.frames / r.seconds).toFixed(0), 8)} | ${pad(r.gaps, 4)} | ${pad(r.failedUtterances, 4)} | ${pad(r.cpuPercent.toFixed(0), 6)} | ${pad(r.rssMaxMb.toFixed(0), 7)}\n`,
      );
    }

    const bySessions = new Map(results.map((r) => [r.sessions, r]));
    const checks: Array<[string, boolean, string]> = [];
    const one = bySessions.get(1);
    const ten = bySessions.get(10);
    const fifty = bySessions.get(50);
    if (one) {
      const p95 = stats(one.samples.map((s) => s.firstAudioMs - s.engineFirstSentenceMs)).p95;
      checks.push(['server overhead p95 <= 10 ms at 1 session', p95 <= 10, `${p95.toFixed(1)} ms`]);
    }
    if (one && ten) {
      const base = stats(one.samples.map((s) => s.firstAudioMs)).p95;
      const at10 = stats(ten.samples.map((s) => s.firstAudioMs)).p95;
      checks.push([
        'first-audio p95 at 10 sessions <= 3x 1 session',
        at10 <= 3 * base,
        `${(at10 / base).toFixed(2)}x (${at10.toFixed(0)} vs ${base.toFixed(0)} ms)`,
      ]);
    }
    if (fifty) checks.push(['no frame gaps at 50 sessions', fifty.gaps === 0 && fifty.samples.length > 0, `${fifty.gaps} gaps in ${fifty.frames} frames`]);
    process.stdout.write(
      "\nfirst audio: text sent -> first frame received (client clock); overhead: that minus the engine's own first-sentence\n" +
        "synthesis time reported by the server; in-server: the server's own arrival -> first frame sent, minus the same.\n" +
        `machine load average at the end: ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')} on ${availableParallelism()} cores\n`,
    );
    process.stdout.write('\ntargets:\n');
    for (const [name, ok, detail] of checks) process.stdout.write(`  ${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}\n`);
    process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    await server.stop();
  }
}

await main();
