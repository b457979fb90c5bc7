/**
 * `npm run bench:agent`: the conversation as a user has it, with the default local stack.
 *
 * The real service (`src/main.ts`, agent mode, no provider settings: its own local LLM and Whisper
 * servers, the shared Piper engine) and a loopback LiveKit server; @livekit/rtc-node participants
 * speak questions (flite) and measure at their end:
 * - voice to voice: the user stops speaking -> the agent's first audio, per turn (p50, p95), with
 *   the service's own breakdown from its "turn latency" log line (end of utterance, STT, LLM first
 *   token and first sentence, TTS first audio, overhead);
 * - interruption: the user starts talking over a long answer -> the agent's last audible frame
 *   (above SOUND_RMS, about -44 dBFS), and its last non-zero one (the receiver's loss concealment
 *   fades the cut audio out over a few tens of ms);
 * - concurrency: 1, 4 and 8 rooms talking at once: voice to voice, and the CPU and memory (RSS, and
 *   PSS, which counts pages shared between processes once) the
 *   service's process tree (main process, job processes, model servers) adds per room.
 *
 * Targets (issue 12) are printed as met / NOT met; the figures are the result.
 * Environment (bench harness only): BENCH_AGENT_TURNS (default 8), BENCH_AGENT_ROOMS (default 1,4,8),
 * BENCH_AGENT_ROOM_TURNS (turns per room in the concurrency runs, default 3), BENCH_AGENT_INTERRUPTIONS (talking over
 * the agent, default 5), BENCH_AGENT_SERVICE_LOG (a file that
 * receives the service's log at debug level, for per-request timings). AGENT_* and LOCAL_* variables are
 * passed to the service, to compare turn-taking settings (AGENT_ENDPOINTING_DELAY_MS, ...).
 */
import { appendFileSync } from 'node:fs';
import { dispose } from '@livekit/rtc-node';
import { startDefaultService } from '../test/support/default-service.js';
import { startLiveKitServer } from '../test/support/livekit-server.js';
import { speech48k } from '../test/support/agent-bench.js';
import { SOUND_RMS, TestParticipant } from '../test/support/test-participant.js';
import { treeUsage } from './process-tree.js';

const QUESTIONS = [
  'What is the capital city of France?',
  'How many days are there in a week?',
  'What colour is the sky on a clear day?',
  'Can you name a large animal that lives in Africa?',
  'What do bees make?',
  'Which season comes after winter?',
  'What is two plus two?',
  'Where does the sun rise?',
];
// The default instructions ask for one or two short sentences: a request for a story gets one. A
// sentence to say back is long whatever the instructions, and has few pauses to interrupt in.
const LONG_ANSWER =
  'Please say this back to me: the quick brown fox jumps over the lazy dog and then runs across the wide green field past the old red barn and down to the river.';
const STOP = 'Stop, please.';

const turnsWanted = Math.max(5, Number(process.env['BENCH_AGENT_TURNS'] ?? 8) || 8);
const roomCounts = (process.env['BENCH_AGENT_ROOMS'] ?? '1,4,8')
  .split(',')
  .map(Number)
  .filter((n) => n >= 1);
const roomTurns = Math.max(1, Number(process.env['BENCH_AGENT_ROOM_TURNS'] ?? 3) || 3);
const interruptionsWanted = Math.max(1, Number(process.env['BENCH_AGENT_INTERRUPTIONS'] ?? 5) || 5);
const TURN_MS = 90_000;
const serviceLog = process.env['BENCH_AGENT_SERVICE_LOG'] || undefined;

type TurnLog = Record<string, unknown> & { room?: string; e2e_ms?: number };

function percentile(values: number[], p: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const fmt = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : '-');
const write = (line = '') => process.stdout.write(`${line}\n`);

const turnLogs: TurnLog[] = [];
const livekit = await startLiveKitServer();
const service = await startDefaultService({
  livekit,
  name: 'bench-agent',
  web: false,
  env: {
    LOG_FORMAT: 'json',
    LOG_LEVEL: serviceLog ? 'debug' : 'info',
    AGENT_MAX_SESSIONS: String(Math.max(8, ...roomCounts)),
    ...Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => (e[0].startsWith('AGENT_') || e[0].startsWith('LOCAL_')) && e[1] !== undefined),
    ),
  },
  onStdoutLine: (line) => {
    if (serviceLog) appendFileSync(serviceLog, `${line}\n`);
    if (!line.includes('"turn latency"')) return;
    try {
      turnLogs.push(JSON.parse(line) as TurnLog);
    } catch {
      // not a JSON log line
    }
  },
});
const servicePid = service.process.pid!;
const models = await fetch(`${service.healthUrl}/status`).then((r) => r.json() as Promise<{ components: Array<Record<string, unknown>> }>);
const agentStatus = models.components.find((c) => c['name'] === 'agent') ?? {};

let roomSeq = 0;
async function join(): Promise<TestParticipant> {
  const participant = await TestParticipant.join({
    url: livekit.url,
    apiKey: livekit.apiKey,
    apiSecret: livekit.apiSecret,
    room: `bench-${process.pid}-${++roomSeq}`,
    agentName: service.agentName,
  });
  await participant.waitForAgent(TURN_MS);
  const greeting = await participant.firstSoundAfter(0, TURN_MS);
  await participant.soundEnd(greeting, 1500, TURN_MS);
  return participant;
}

/** One question and the whole answer; voice to voice as the participant measured it. */
async function turn(participant: TestParticipant, question: string): Promise<number> {
  const { endedAt } = await participant.say(await speech48k(question));
  const first = await participant.firstSoundAfter(endedAt, TURN_MS);
  await participant.soundEnd(first, 1500, TURN_MS);
  return first - endedAt;
}

/** The service's log line for a room's n-th turn (waits briefly: it is written when the reply ends). */
async function turnLog(room: string, index: number): Promise<TurnLog | undefined> {
  const until = Date.now() + 3000;
  for (;;) {
    const found = turnLogs.filter((l) => l.room === room)[index];
    if (found || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

let failure: unknown;
const single: Array<{ ms: number; log: TurnLog | undefined }> = [];
const bargeIns: number[] = [];
/** Until the agent's audio is digital silence: the fade-out of the receiver's loss concealment included. */
const bargeInsToZero: number[] = [];
const concurrency: Array<{
  rooms: number;
  turns: number[];
  failed: number;
  cpuPerRoom: number;
  rssPerRoomMb: number;
  pssPerRoomMb: number;
  idleRssMb: number;
}> = [];

try {
  // 1. one conversation, turn after turn
  const participant = await join();
  for (let i = 0; i < turnsWanted; i++) {
    const ms = await turn(participant, QUESTIONS[i % QUESTIONS.length]!);
    single.push({ ms, log: await turnLog(participant.room.name!, i) });
    process.stderr.write(`turn ${i + 1}/${turnsWanted}: ${Math.round(ms)} ms\n`);
  }
  await participant.leave();
  // 2. talking over a long answer; a trial counts only when the agent was audibly speaking as the user started.
  // Each trial in a new room: after a "Stop, please." in its history, the model answers the next request in a few words.
  for (let attempt = 0; attempt < interruptionsWanted * 3 && bargeIns.length < interruptionsWanted; attempt++) {
    const participant = await join();
    const { endedAt } = await participant.say(await speech48k(LONG_ANSWER));
    const first = await participant.firstSoundAfter(endedAt, TURN_MS);
    await new Promise((r) => setTimeout(r, 1200));
    const stop = await participant.say(await speech48k(STOP));
    const loud = participant.heard.filter((f) => f.at > first && f.rms > SOUND_RMS);
    // the agent's answer to "stop" cannot start before the user finished saying it
    const lastLoud = loud.filter((f) => f.at <= stop.endedAt).at(-1)?.at ?? stop.startedAt;
    // Counted only when the agent was still sounding at the user's onset and for 100 ms after it:
    // nothing can make it stop sooner (the VAD alone needs 4 windows of speech), so a shorter time
    // is the agent reaching the end of a sentence as the user started, and measures nothing.
    const speakingAtOnset = loud.some((f) => f.at > stop.startedAt - 100 && f.at <= stop.startedAt) && lastLoud >= stop.startedAt + 100;
    const lastSound = participant.heard.filter((f) => f.at > first && f.at <= stop.endedAt && f.rms >= 1).at(-1)?.at ?? lastLoud;
    if (speakingAtOnset) {
      bargeIns.push(lastLoud - stop.startedAt);
      bargeInsToZero.push(lastSound - stop.startedAt);
    }
    process.stderr.write(
      speakingAtOnset
        ? `interruption ${bargeIns.length}/${interruptionsWanted}: agent silent ${Math.round(lastLoud - stop.startedAt)} ms after the user started (digital silence after ${Math.round(lastSound - stop.startedAt)})\n`
        : "interruption attempt skipped: the agent was silent at the user's onset or reached a pause within 100 ms of it\n",
    );
    const reply = await participant.firstSoundAfter(stop.endedAt, TURN_MS).catch(() => undefined);
    if (reply) await participant.soundEnd(reply, 1500, TURN_MS);
    await participant.leave();
  }

  // 3. rooms at once
  for (const rooms of roomCounts) {
    await new Promise((r) => setTimeout(r, 3000));
    const idle = treeUsage(servicePid);
    const participants = await Promise.all(Array.from({ length: rooms }, () => join()));
    const cpuStart = treeUsage(servicePid).cpuSeconds;
    const started = performance.now();
    let peakRss = 0;
    let peakPss = 0;
    const sampler = setInterval(() => {
      const usage = treeUsage(servicePid);
      peakRss = Math.max(peakRss, usage.rssMb);
      peakPss = Math.max(peakPss, usage.pssMb);
    }, 250);
    const turns = (
      await Promise.all(
        participants.map(async (p, index) => {
          const mine: number[] = [];
          for (let t = 0; t < roomTurns; t++) {
            // a turn that gets no answer within TURN_MS is counted as failed; the room goes on
            mine.push(await turn(p, QUESTIONS[(index + t) % QUESTIONS.length]!).catch(() => Number.NaN));
          }
          return mine;
        }),
      )
    ).flat();
    clearInterval(sampler);
    const cpuSeconds = treeUsage(servicePid).cpuSeconds - cpuStart;
    const wall = (performance.now() - started) / 1000;
    concurrency.push({
      rooms,
      turns,
      failed: turns.filter((t) => !Number.isFinite(t)).length,
      cpuPerRoom: (cpuSeconds / wall / rooms) * 100,
      rssPerRoomMb: (peakRss - idle.rssMb) / rooms,
      pssPerRoomMb: (peakPss - idle.pssMb) / rooms,
      idleRssMb: idle.rssMb,
    });
    process.stderr.write(`${rooms} room(s): ${turns.map(Math.round).join(', ')} ms\n`);
    await Promise.all(participants.map((p) => p.leave()));
  }
} catch (err) {
  failure = err;
} finally {
  await service.process.stop(15_000);
  await livekit.stop();
  await dispose();
}

const llm = agentStatus['llm'] as { model?: string } | null;
const stt = agentStatus['stt'] as { model?: string } | null;
const settings = Object.entries(process.env).filter(([name]) => name.startsWith('AGENT_') || name.startsWith('LOCAL_'));
write(`\nagent conversation, default local stack (LLM ${llm?.model ?? '?'}, STT ${stt?.model ?? '?'}, Piper), 2-core figures below`);
if (settings.length > 0) write(`settings: ${settings.map(([name, value]) => `${name}=${value}`).join(' ')}`);
write(`${'one room, per turn'.padEnd(40)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}`);
const row = (name: string, values: number[]) => write(`${name.padEnd(40)}${fmt(percentile(values, 50)).padStart(8)}${fmt(percentile(values, 95)).padStart(8)}`);
const field = (name: string) => single.map((t) => Number(t.log?.[name] ?? Number.NaN));
row(
  'voice to voice (at the participant)',
  single.map((t) => t.ms),
);
row('  as the service logged it (e2e_ms)', field('e2e_ms'));
row('  end of utterance (eou_delay_ms)', field('eou_delay_ms'));
row('    of which STT request', field('stt_duration_ms'));
row('  LLM first sentence', field('llm_first_sentence_ms'));
row('    of which first token', field('llm_ttft_ms'));
row('  TTS first audio', field('tts_ttfb_ms'));
row('  overhead (no provider)', field('overhead_ms'));
row('interruption: agent silent after (ms)', bargeIns);
row('  until digital silence', bargeInsToZero);
write();
write(
  `${'rooms'.padEnd(8)}${'turns'.padStart(6)}${'no answer'.padStart(10)}${'v2v p50'.padStart(9)}${'v2v p95'.padStart(9)}${'CPU %/room'.padStart(12)}${'RSS MB/room'.padStart(13)}${'PSS MB/room'.padStart(13)}${'idle RSS MB'.padStart(13)}`,
);
for (const c of concurrency) {
  write(
    `${String(c.rooms).padEnd(8)}${String(c.turns.length).padStart(6)}${String(c.failed).padStart(10)}${fmt(percentile(c.turns, 50)).padStart(9)}${fmt(percentile(c.turns, 95)).padStart(9)}${c.cpuPerRoom.toFixed(0).padStart(12)}${fmt(c.rssPerRoomMb).padStart(13)}${fmt(c.pssPerRoomMb).padStart(13)}${fmt(c.idleRssMb).padStart(13)}`,
  );
}
const v2v = single.map((t) => t.ms);
const target = (what: string, value: number, limit: number) => write(`target ${what} <= ${limit} ms: ${value <= limit ? 'met' : 'NOT met'} (${fmt(value)} ms)`);
write();
target('voice to voice p50', percentile(v2v, 50), 1200);
target('voice to voice p95', percentile(v2v, 95), 1800);
target('overhead p50', percentile(field('overhead_ms'), 50), 100);
target('interruption silence p50', percentile(bargeIns, 50), 300);
const extra = concurrency.find((c) => c.rooms > 1);
if (extra)
  write(
    `target memory per added room <= 120 MB: RSS ${extra.rssPerRoomMb <= 120 ? 'met' : 'NOT met'} (${fmt(extra.rssPerRoomMb)} MB), PSS ${extra.pssPerRoomMb <= 120 ? 'met' : 'NOT met'} (${fmt(extra.pssPerRoomMb)} MB) at ${extra.rooms} rooms`,
  );

if (failure || single.length < 5) {
  process.stderr.write(`bench:agent failed: ${failure ? String((failure as Error).stack ?? failure) : `only ${single.length} turns`}\n`);
  process.exit(1);
}
process.exit(0);
