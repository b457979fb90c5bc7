/**
 * `npm run bench:agent`: voice-to-voice latency of agent mode on the real bench.
 *
 * A loopback LiveKit server, the real Whisper STT server, the LLM server with the real SmolLM2
 * model (BENCH_AGENT_LLM=stand-in for the named stand-in), and the agent component with Piper in
 * its job processes. A @livekit/rtc-node participant speaks a question (flite), and each turn
 * measures, at the participant: the user stops speaking -> the first agent audio frame arrives.
 *
 * The agent's job processes report the framework's per-turn metrics over the control socket:
 * end-of-utterance delay (VAD silence + endpointing + waiting for the transcript; the STT request
 * runs inside it), STT duration, LLM time to first token and to the first complete sentence (Piper
 * speaks sentence by sentence, so that is what the TTS waits for), TTS time to first audio.
 * Orchestration overhead = total - (EOU delay + LLM first sentence + TTS TTFB): everything that is
 * not waiting for a provider (audio transport both ways, buffering, sentence splitting, framework
 * scheduling). Target: p50 <= 100 ms.
 *
 * Environment (bench harness only): BENCH_AGENT_TURNS (default 6, at least 5), BENCH_AGENT_LLM.
 */
import { dispose } from '@livekit/rtc-node';
import { createLogger } from '../src/ops/logger.js';
import { createMetricsRegistry } from '../src/ops/metrics.js';
import type { JobEvent, TurnStage } from '../src/agent/control-channel.js';
import { benchConfig, benchEnv, speech48k, startBench } from '../test/support/agent-bench.js';
import { createAgentComponent } from '../src/agent/index.js';
import { TestParticipant } from '../test/support/test-participant.js';

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

interface Turn {
  question: string;
  totalMs: number;
  stages: Partial<Record<TurnStage, number>>;
}

const turnsWanted = Math.max(5, Number(process.env['BENCH_AGENT_TURNS'] ?? 6) || 6);
const llmEngine = process.env['BENCH_AGENT_LLM'] === 'stand-in' ? 'stand-in' : 'smollm2';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const bench = await startBench({ llmEngine });
const env = benchEnv(bench, { LOG_LEVEL: 'error' });
const config = benchConfig(env);
const agent = createAgentComponent({ config, logger: createLogger(config), metrics: createMetricsRegistry('agent') });
const events: Array<{ at: number; event: JobEvent }> = [];
agent.events.on('event', (event) => events.push({ at: performance.now(), event }));
let participant: TestParticipant | undefined;
const turns: Turn[] = [];
let failure: unknown;

try {
  await agent.start();
  participant = await TestParticipant.join({
    url: bench.livekit.url,
    apiKey: bench.livekit.apiKey,
    apiSecret: bench.livekit.apiSecret,
    room: `bench-${process.pid}-${Date.now()}`,
    agentName: env.AGENT_NAME!,
  });
  await participant.waitForAgent(90_000);
  const greeting = await participant.firstSoundAfter(0, 90_000);
  await participant.soundEnd(greeting, 1500, 60_000);

  for (let i = 0; i < turnsWanted; i++) {
    const question = QUESTIONS[i % QUESTIONS.length]!;
    const { endedAt } = await participant.say(await speech48k(question));
    const firstSound = await participant.firstSoundAfter(endedAt, 60_000);
    await participant.soundEnd(firstSound, 1500, 90_000);
    const mine = events.filter((e) => e.at > endedAt - 3000 && e.event.type === 'stage');
    const stages: Partial<Record<TurnStage, number>> = {};
    for (const { event } of mine) {
      if (event.type === 'stage' && stages[event.stage] === undefined) stages[event.stage] = event.ms;
    }
    turns.push({ question, totalMs: firstSound - endedAt, stages });
    process.stderr.write(`turn ${i + 1}/${turnsWanted}: ${Math.round(firstSound - endedAt)} ms\n`);
  }
} catch (err) {
  failure = err;
} finally {
  await participant?.leave();
  await agent.stop(Date.now() + 5000);
  await bench.stop();
  await dispose();
}

const complete = turns.filter((t) => ['eou_delay', 'llm_ttft', 'llm_first_sentence', 'tts_ttfb'].every((s) => t.stages[s as TurnStage] !== undefined));
// Piper speaks sentence by sentence, so the LLM's share is its time to the first complete sentence
// (its time to the first token is inside it).
const overhead = (t: Turn) => t.totalMs - (t.stages.eou_delay! + t.stages.llm_first_sentence! + t.stages.tts_ttfb!);
const row = (name: string, values: number[]) =>
  `${name.padEnd(34)}${String(Math.round(percentile(values, 50))).padStart(8)}${String(Math.round(percentile(values, 95))).padStart(8)}`;

process.stdout.write(
  `\nagent voice-to-voice latency, ${complete.length} turns (LLM: ${llmEngine === 'stand-in' ? 'STAND-IN, not a model' : bench.llm.model})\n`,
);
process.stdout.write(`${'per turn'.padEnd(34)}${'p50 ms'.padStart(8)}${'p95 ms'.padStart(8)}\n`);
process.stdout.write(
  `${row(
    'total (stop speaking -> audio)',
    complete.map((t) => t.totalMs),
  )}\n`,
);
process.stdout.write(
  `${row(
    '  end-of-utterance delay',
    complete.map((t) => t.stages.eou_delay!),
  )}\n`,
);
process.stdout.write(
  `${row(
    '    of which STT request',
    complete.map((t) => t.stages.stt_duration ?? Number.NaN),
  )}\n`,
);
process.stdout.write(
  `${row(
    '  LLM time to first sentence',
    complete.map((t) => t.stages.llm_first_sentence!),
  )}\n`,
);
process.stdout.write(
  `${row(
    '    of which first token',
    complete.map((t) => t.stages.llm_ttft!),
  )}\n`,
);
process.stdout.write(
  `${row(
    '  TTS time to first audio',
    complete.map((t) => t.stages.tts_ttfb!),
  )}\n`,
);
process.stdout.write(`${row('  orchestration overhead', complete.map(overhead))}\n`);
const overheadP50 = percentile(complete.map(overhead), 50);
process.stdout.write(`target overhead p50 <= 100 ms: ${overheadP50 <= 100 ? 'met' : 'NOT met'} (${Math.round(overheadP50)} ms)\n`);

if (failure || complete.length < 5) {
  process.stderr.write(`bench:agent failed: ${failure ? String((failure as Error).stack ?? failure) : `only ${complete.length} complete turns`}\n`);
  process.exit(1);
}
process.exit(0);
