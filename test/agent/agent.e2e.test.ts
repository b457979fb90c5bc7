/**
 * Agent mode end to end, on the real bench: a loopback LiveKit server (v1.13.5), the real Whisper
 * STT server, the LLM server with the real SmolLM2 model, Piper speaking in the job processes, and
 * a @livekit/rtc-node participant that really speaks (flite) and listens.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { encodeWav, Resampler } from '../../src/audio/index.js';
import { wordAccuracy } from '../support/word-accuracy.js';
import type { AgentComponent } from '../../src/agent/index.js';
import { benchConfig, benchEnv, capturedLogger, speech48k, startBench, type Bench, createAgentWithSpeech } from '../support/agent-bench.js';
import { LLM_APOLOGY, STT_APOLOGY } from '../../src/agent/settings.js';
import { RATE, TestParticipant, waitFor } from '../support/test-participant.js';

const JOIN_MS = 60_000;
const TURN_MS = 45_000;

describe('agent mode against a real LiveKit server, Whisper STT, SmolLM2 LLM and Piper TTS', { timeout: 600_000 }, () => {
  let bench: Bench;
  let agent: AgentComponent;
  let registry: ReturnType<typeof createMetricsRegistry>;
  let logLines: () => Array<Record<string, unknown>>;
  const participants: TestParticipant[] = [];
  let roomCounter = 0;

  const join = async (metadata?: string) => {
    const participant = await TestParticipant.join({
      url: bench.livekit.url,
      apiKey: bench.livekit.apiKey,
      apiSecret: bench.livekit.apiSecret,
      room: `e2e-${process.pid}-${Date.now()}-${roomCounter++}`,
      agentName: benchEnv(bench).AGENT_NAME!,
      ...(metadata ? { metadata } : {}),
    });
    participants.push(participant);
    return participant;
  };

  /** Joins and waits until the greeting has been heard completely, so the next turn starts clean. */
  const joinAndHearGreeting = async () => {
    const participant = await join();
    const joined = performance.now();
    await participant.waitForAgent(JOIN_MS).catch((err: Error) => {
      throw new Error(`${err.message}; agent status ${JSON.stringify(agent.status?.())}\n--- LiveKit server ---\n${bench.livekit.output()}`);
    });
    const greeting = await participant.transcriptAfter('agent', joined, JOIN_MS);
    const first = await participant.firstSoundAfter(joined, JOIN_MS);
    await participant.soundEnd(first, 1200, TURN_MS);
    return { participant, greeting };
  };

  before(async () => {
    bench = await startBench();
    const config = benchConfig(benchEnv(bench));
    const captured = capturedLogger(config);
    logLines = captured.lines;
    registry = createMetricsRegistry('agent');
    agent = createAgentWithSpeech({ config, logger: captured.logger, metrics: registry });
    await agent.start();
  });

  // Every open room keeps a job process running VAD on the participant's audio: close them as we go.
  // A test that failed midway must not leave a peer broken for the next one.
  afterEach(async () => {
    for (const p of participants.splice(0)) await p.leave();
    bench.llm.setMode('ok');
    await bench.stt.setMode('ok');
  });

  /** Log lines written from now on (so a test sees only what it caused). */
  const logsFromNow = () => {
    const from = logLines().length;
    return () => logLines().slice(from);
  };

  /** The value of one series in the main registry (0 when it has no sample yet). */
  /** The sum of the series `name` whose labels include `labels` (in any order), 0 when absent. */
  const series = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    let sum = 0;
    for (const line of (await registry.metrics()).split('\n')) {
      const match = /^([a-zA-Z0-9_:]+)\{(.*)\} (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      if (Object.entries(labels).every(([key, value]) => match[2]!.includes(`${key}="${value}"`))) sum += Number(match[3]);
    }
    return sum;
  };

  after(async () => {
    for (const p of participants) await p.leave();
    await agent?.stop(Date.now() + 10_000);
    await bench?.stop();
    await dispose();
  });

  it('registers with the LiveKit server and reports ready', () => {
    assert.deepEqual(agent.health(), { ready: true, detail: 'registered' });
  });

  it('joins a new room, greets the user with Piper speech and keeps lk.agent.state current', async () => {
    const { participant, greeting } = await joinAndHearGreeting();
    assert.match(greeting.text, /how can i help/i);
    const heardMs = participant.soundMs(0);
    assert.ok(heardMs > 800 && heardMs < 8000, `greeting lasted ${heardMs} ms of sound`);
    const states = participant.agentStates.map((s) => s.state);
    assert.ok(states.includes('speaking'), `states seen: ${states.join(',')}`);
    await waitFor(() => (participant.agentStates.at(-1)?.state === 'listening' ? true : undefined), 10_000, 'state listening');
  });

  it('transcribes a spoken question (>= 80% word accuracy) and answers with speech and its transcript', async () => {
    const { participant } = await joinAndHearGreeting();
    const question = 'What is the capital city of France?';
    const { endedAt } = await participant.say(await speech48k(question));
    const userText = await participant.transcriptAfter('user', endedAt - 5000, TURN_MS);
    assert.ok(wordAccuracy(question, userText.text) >= 0.8, `user transcript "${userText.text}"`);

    const firstSound = await participant.firstSoundAfter(endedAt, TURN_MS);
    const answer = await participant.transcriptAfter('agent', endedAt, TURN_MS);
    const end = await participant.soundEnd(firstSound, 1500, TURN_MS);
    const words = answer.text.split(/\s+/).filter(Boolean).length;
    const soundMs = participant.soundMs(firstSound - 1, end);
    assert.ok(words > 0 && !answer.text.includes('Sorry'), `agent answer "${answer.text}"`);
    // Piper speaks roughly 2-4 words a second; pauses between sentences are not sound.
    assert.ok(soundMs >= words * 120 && soundMs <= words * 900 + 2000, `${soundMs} ms of sound for ${words} words`);

    // The sound is the transcript, spoken: Whisper recognises the agent's own words in it.
    const audio = Resampler.oneShot(participant.audioBetween(firstSound - 20, end + 20), RATE, 16_000);
    const recognised = await bench.stt.transcribe(encodeWav(audio, 16_000, 1));
    assert.ok(wordAccuracy(answer.text, recognised) >= 0.5, `said "${answer.text}", heard "${recognised}"`);
  });

  it('answers typed chat from lk.chat with speech', async () => {
    const { participant } = await joinAndHearGreeting();
    const sent = performance.now();
    await participant.sendChat('Say hello to my friend Tom.');
    const sound = await participant.firstSoundAfter(sent, TURN_MS);
    const answer = await participant.transcriptAfter('agent', sent, TURN_MS);
    assert.ok(answer.text.length > 0 && sound > sent);
  });

  it('stops its audio within 500 ms when the user speaks over it', async () => {
    const { participant } = await joinAndHearGreeting();
    const sent = performance.now();
    await participant.sendChat('Tell me a long story about a dragon who lives in a castle by the sea.');
    const started = await participant.firstSoundAfter(sent, TURN_MS);
    await new Promise((r) => setTimeout(r, 1500));
    const interruption = await speech48k('Wait, stop please, I have another question for you.');
    const spoken = participant.say(interruption);
    const { startedAt } = await spoken;
    const stoppedAt = await participant.soundEnd(started, 600, TURN_MS);
    // flite leads with silence (~200 ms): the user starts speaking at the first loud sample, not
    // when publishing starts. The agent may answer afterwards; what matters is how long it talked over the user.
    const speechOnsetMs = (interruption.findIndex((sample) => Math.abs(sample) >= 500) / RATE) * 1000;
    const overlapMs = stoppedAt - (startedAt + speechOnsetMs);
    assert.ok(started < startedAt, 'the agent was speaking when the user started');
    assert.ok(overlapMs <= 500, `agent audio continued ${Math.round(overlapMs)} ms after the user started speaking`);
  });

  it('serves two rooms at once independently, in one job process', async () => {
    const [a, b] = await Promise.all([joinAndHearGreeting(), joinAndHearGreeting()]);
    const processes = agent.status?.().job_processes as Array<{ pid: number; rooms: string[]; warmed: number }>;
    const names = [a!.participant, b!.participant].map((p) => p.room.name ?? '');
    assert.ok(
      processes.some((p) => names.every((name) => p.rooms.includes(name))),
      `both rooms in one process (AGENT_ROOMS_PER_PROCESS=4): ${JSON.stringify(processes)}`,
    );
    const sentences = ['How many legs does a spider have?', 'What time does the train leave tomorrow?'];
    const turns = await Promise.all(
      [a!.participant, b!.participant].map(async (p, i) => {
        const { endedAt } = await p.say(await speech48k(sentences[i]!));
        const user = await p.transcriptAfter('user', endedAt - 5000, TURN_MS);
        const sound = await p.firstSoundAfter(endedAt, TURN_MS);
        return { user: user.text, sound };
      }),
    );
    assert.ok(wordAccuracy(sentences[0]!, turns[0]!.user) >= 0.8, `room A heard "${turns[0]!.user}"`);
    assert.ok(wordAccuracy(sentences[1]!, turns[1]!.user) >= 0.8, `room B heard "${turns[1]!.user}"`);
    assert.ok(wordAccuracy(sentences[0]!, turns[1]!.user) < 0.5, 'room B got room A words');
  });

  it('apologises when speech-to-text is down or answers garbage, and recovers when it returns', async () => {
    const logs = logsFromNow();
    const { participant } = await joinAndHearGreeting();
    for (const mode of ['down', 'garbage'] as const) {
      await bench.stt.setMode(mode);
      const { endedAt } = await participant.say(await speech48k('Can you hear me now?'));
      const apology = await participant.transcriptAfter('agent', endedAt, TURN_MS);
      assert.equal(apology.text.trim(), STT_APOLOGY, `mode ${mode}`);
      const first = await participant.firstSoundAfter(endedAt, TURN_MS);
      await participant.soundEnd(first, 1200, TURN_MS);
      await new Promise((r) => setTimeout(r, 4500)); // apologies are rate-limited
    }
    await bench.stt.setMode('ok');
    const question = 'Are you working again?';
    const { endedAt } = await participant.say(await speech48k(question));
    const user = await participant.transcriptAfter('user', endedAt - 5000, TURN_MS);
    assert.ok(wordAccuracy(question, user.text) >= 0.6, `after recovery heard "${user.text}"`);
    const logged = logs().filter((l) => l['provider'] === 'stt' && typeof l['cause'] === 'string');
    assert.ok(
      logged.some((l) => /503/.test(String(l['cause']))),
      'the 503 of the down STT server is logged',
    );
    assert.ok(
      logged.some((l) => l['kind'] === 'garbage' && /not a transcript/.test(String(l['cause']))),
      'the garbage answer is logged as such',
    );
    assert.ok(logged.every((l) => String(l['host']).startsWith('127.0.0.1:') && l['model'] === bench.stt.modelName));
  });

  it('apologises when the LLM is down, slow or answers garbage, and recovers when it returns', async () => {
    const logs = logsFromNow();
    const { participant } = await joinAndHearGreeting();
    for (const mode of ['down', 'slow', 'garbage'] as const) {
      bench.llm.setMode(mode, 30_000);
      const sent = performance.now();
      await participant.sendChat(`Question while the model is ${mode}?`);
      const apology = await participant.transcriptAfter('agent', sent, TURN_MS);
      assert.equal(apology.text.trim(), LLM_APOLOGY, `mode ${mode}`);
      const first = await participant.firstSoundAfter(sent, TURN_MS);
      await participant.soundEnd(first, 1200, TURN_MS);
    }
    bench.llm.setMode('ok');
    const sent = performance.now();
    await participant.sendChat('Say the word banana.');
    const answer = await participant.transcriptAfter('agent', sent, TURN_MS);
    assert.ok(!answer.text.includes(LLM_APOLOGY), `after recovery: "${answer.text}"`);
    const logged = logs().filter((l) => l['provider'] === 'llm');
    assert.ok(logged.length >= 3, `llm failures logged: ${logged.length}`);
    assert.ok(
      logged.some((l) => l['kind'] === 'error' && /503/.test(String(l['cause']))),
      'the 503 of the down LLM is logged',
    );
    assert.ok(
      logged.some((l) => l['kind'] === 'timeout'),
      'the slow LLM is logged as a timeout',
    );
    assert.ok(logged.every((l) => String(l['host']).startsWith('127.0.0.1:') && typeof l['cause'] === 'string'));
  });

  it('exports per-turn latency (histograms and one log line a turn), session counts and provider errors to the main registry with mode="agent"', async (t) => {
    const STAGES = ['eou_delay', 'stt_duration', 'llm_ttft', 'tts_ttfb', 'overhead'];
    const e2eCount = () => series('agent_turn_e2e_seconds_count', { mode: 'agent' });
    const logs = logsFromNow();
    const e2eBefore = await e2eCount();
    const stageCount = (name: string) => series(`agent_turn_${name}_seconds_count`, { mode: 'agent' });
    const sessionsTotal = () => series('agent_sessions_total', { mode: 'agent' });
    const llmErrors = () => series('agent_provider_errors_total', { mode: 'agent', provider: 'llm', kind: 'error' });
    const before = { stages: await Promise.all(STAGES.map(stageCount)), sessions: await sessionsTotal(), llmErrors: await llmErrors() };

    // one conversation of this test's own: a spoken turn (every stage), then a failed LLM request
    const { participant } = await joinAndHearGreeting();
    assert.ok((await sessionsTotal()) > before.sessions, 'the room was not counted');
    assert.match(await registry.metrics(), /^agent_sessions_active\{mode="agent"\} [1-9]/m);
    const { endedAt } = await participant.say(await speech48k('What is the capital city of France?'));
    const first = await participant.firstSoundAfter(endedAt, TURN_MS);
    await participant.transcriptAfter('agent', endedAt, TURN_MS);
    await participant.soundEnd(first, 1200, TURN_MS);
    bench.llm.setMode('down');
    const sent = performance.now();
    await participant.sendChat('Are you still there?');
    assert.equal((await participant.transcriptAfter('agent', sent, TURN_MS)).text.trim(), LLM_APOLOGY);
    bench.llm.setMode('ok');

    // the job process reports over the control socket: the counts arrive shortly after the turn
    const deadline = Date.now() + 15_000;
    for (;;) {
      const stages = await Promise.all(STAGES.map(stageCount));
      const grown = stages.every((count, i) => count > before.stages[i]!) && (await llmErrors()) > before.llmErrors && (await e2eCount()) > e2eBefore;
      if (grown) break;
      assert.ok(
        Date.now() < deadline,
        `not every series grew: ${STAGES.map((name, i) => `${name} ${before.stages[i]} -> ${stages[i]}`).join(', ')}, llm errors ${before.llmErrors} -> ${await llmErrors()}`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    const line = logs().find((l) => l['msg'] === 'turn latency' && l['room'] === participant.room.name);
    assert.ok(line, 'no "turn latency" log line for the room');
    for (const field of ['e2e_ms', 'overhead_ms', 'eou_delay_ms', 'stt_duration_ms', 'llm_ttft_ms', 'llm_first_sentence_ms', 'tts_ttfb_ms']) {
      assert.equal(typeof line[field], 'number', `${field} in ${JSON.stringify(line)}`);
    }
    const measured = Number(line['e2e_ms']);
    t.diagnostic(`turn latency log: ${JSON.stringify(line)}; the participant measured ${Math.round(first - endedAt)} ms`);
    // the job measures from the end of speech the framework detected; the participant from the end of its audio
    assert.ok(measured > 100 && measured < first - endedAt + 2000, `e2e ${measured} ms vs ${Math.round(first - endedAt)} ms at the participant`);
  });

  it('survives a LiveKit server restart: re-registers and serves the next room', async () => {
    const registrations = () => Number(agent.status?.()['registrations']);
    const before = registrations();
    assert.ok(before >= 1 && agent.health().ready, 'registered before the restart');
    await bench.livekit.restart({ downMs: 1500 });
    // a new registration can only follow a lost connection: the worker noticed and came back
    await waitFor(() => (registrations() > before ? true : undefined), 60_000, 'the agent to register again');
    await waitFor(() => (agent.health().ready ? true : undefined), 60_000, 'the agent to report ready again');
    const { greeting } = await joinAndHearGreeting();
    assert.match(greeting.text, /how can i help/i);
  });
});
