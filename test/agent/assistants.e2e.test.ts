/**
 * Many assistants from one file, against a real LiveKit server: each assistant is its own worker
 * and greets with its own greeting; an edit reaches the next room without a restart while a live
 * room carries on; a broken profile leaves the other assistant serving; LLM and STT fallbacks answer
 * without an apology; an invalid edit is refused and the running version stays.
 * The LLM is the named stand-in (it echoes: "You said: ..."), speech-to-text the real Whisper peer; questions
 * are typed, except the one that checks the speech-to-text chain.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import type { AgentComponent } from '../../src/agent/index.js';
import { LLM_APOLOGY, STT_APOLOGY } from '../../src/agent/settings.js';
import { AssistantsSource } from '../../src/assistants/index.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { type Bench, benchConfig, benchEnv, capturedLogger, createAgentWithSpeech, speech48k, startBench } from '../support/agent-bench.js';
import { TestParticipant, waitFor } from '../support/test-participant.js';
import { TEST_VOICE, testVoicesDir } from '../support/voices.js';

const TURN_MS = 60_000;
const tag = process.pid;

function file(bench: Bench, options: { receptionGreeting: string; supportLlm?: string }): string {
  return `# two assistants (test)
profiles:
  stand-in:
    provider: openai-compatible
    base_url: ${bench.llm.baseURL}
    model: ${bench.llm.model}
  whisper:
    provider: openai-compatible
    base_url: ${bench.stt.baseURL}
    model: ${bench.stt.modelName}
  broken:
    provider: openai-compatible
    base_url: http://127.0.0.1:9/v1
    model: nothing-here
    fallback: [stand-in]
  deaf:
    provider: openai-compatible
    base_url: http://127.0.0.1:9/v1
    model: nothing-here
    fallback: [whisper]
  dead:
    provider: openai-compatible
    base_url: http://127.0.0.1:9/v1
    model: nothing-here
assistants:
  - name: reception-${tag}
    instructions: You are the receptionist.
    greeting: ${options.receptionGreeting}
    voice: ${TEST_VOICE}
    llm: broken
    stt: deaf
  - name: support-${tag}
    instructions: You are the support line.
    greeting: Support line, what is the problem?
    voice: ${TEST_VOICE}
    llm: ${options.supportLlm ?? 'stand-in'}
    stt: whisper
`;
}

describe('assistants file: two assistants, edited at run time', () => {
  let bench: Bench;
  let dir: string;
  let path: string;
  let source: AssistantsSource;
  let agent: AgentComponent;
  let logs: () => Array<Record<string, unknown>>;
  const participants: TestParticipant[] = [];
  let rooms = 0;

  /** Atomic save, as editors do: write beside, rename over. */
  const save = async (text: string) => {
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  };

  const joinRoom = async (assistant: string) => {
    const since = performance.now();
    const participant = await TestParticipant.join({
      url: bench.livekit.url,
      apiKey: bench.livekit.apiKey,
      apiSecret: bench.livekit.apiSecret,
      room: `assistants-${tag}-${++rooms}`,
      agentName: `${assistant}-${tag}`,
    });
    participants.push(participant);
    await participant.waitForAgent(TURN_MS);
    const greeting = await participant.transcriptAfter('agent', since, TURN_MS);
    return { participant, greeting: greeting.text.trim() };
  };

  const ask = async (participant: TestParticipant, text: string) => {
    const sent = performance.now();
    await participant.sendChat(text);
    return (await participant.transcriptAfter('agent', sent, TURN_MS)).text.trim();
  };

  before(async () => {
    bench = await startBench({ llmEngine: 'stand-in' });
    dir = await mkdtemp(join(tmpdir(), 'vo-assistants-'));
    path = join(dir, 'assistants.yaml');
    await save(file(bench, { receptionGreeting: 'Welcome to reception.' }));
    const config = benchConfig(benchEnv(bench, { ASSISTANTS_FILE: path, AGENT_IDLE_PROCESSES: '1' }));
    const captured = capturedLogger(config);
    logs = captured.lines;
    source = new AssistantsSource({ file: path, voicesDir: testVoicesDir(), env: process.env, debounceMs: 100 });
    await source.start();
    agent = createAgentWithSpeech({ config, logger: captured.logger, metrics: createMetricsRegistry('agent'), assistants: source, keyEnv: process.env });
    await agent.start();
  });

  // every open room keeps a job process running VAD: close them as we go
  afterEach(async () => {
    for (const p of participants.splice(0)) await p.leave();
  });

  after(async () => {
    await agent?.stop(Date.now() + 5000);
    source?.stop();
    await bench?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    // the participants' native WebRTC runtime keeps the process alive until disposed
    await dispose();
  });

  it('each assistant registers under its own name and greets with its own greeting', async () => {
    const reception = await joinRoom('reception');
    assert.equal(reception.greeting, 'Welcome to reception.');
    const support = await joinRoom('support');
    assert.equal(support.greeting, 'Support line, what is the problem?');
    const status = agent.status?.() as { assistants: Array<Record<string, unknown>> };
    assert.deepEqual(
      status.assistants.map((a) => [a['name'], a['state'], a['version']]),
      [
        [`reception-${tag}`, 'serving', 1],
        [`support-${tag}`, 'serving', 1],
      ],
    );
  });

  it('the LLM and speech-to-text fall back to the next profile when the first is unreachable: an answer, no apology', async () => {
    const { participant } = await joinRoom('reception');
    const answer = await ask(participant, 'Is anyone there?');
    assert.notEqual(answer, LLM_APOLOGY);
    assert.match(answer, /You said: Is anyone there/);
    // spoken, the words go through the speech-to-text chain
    const { endedAt } = await participant.say(await speech48k('Is anyone there?'));
    const heard = (await participant.transcriptAfter('agent', endedAt, TURN_MS)).text.trim();
    assert.notEqual(heard, STT_APOLOGY);
    // the stand-in echoes what Whisper heard ("anyone" or "any one")
    assert.match(heard.toLowerCase().replace(/[^a-z]/g, ''), /^yousaid.*anyonethere/, `heard "${heard}"`);
    const sttFailures = logs().filter((l) => l['provider'] === 'stt' && String(l['host']).startsWith('127.0.0.1:9 '));
    assert.ok(sttFailures.length >= 1, 'the unreachable speech-to-text profile was reported');
    for (const failure of sttFailures) assert.equal(failure['fallback'], true, JSON.stringify(failure));
  });

  it('an edited greeting reaches the next room without a restart while a live room carries on', async () => {
    const live = await joinRoom('reception');
    await save(file(bench, { receptionGreeting: 'Hello from the new reception.' }));
    await waitFor(() => (source.current().version === 2 ? true : undefined), 10_000, 'the reload');
    const next = await joinRoom('reception');
    assert.equal(next.greeting, 'Hello from the new reception.');
    // the live room still talks, on the version it started with
    assert.match(await ask(live.participant, 'Still with me?'), /You said: Still with me/);
    assert.ok(logs().some((l) => l['msg'] === 'assistant in force' && l['version'] === 2));
  });

  it('a broken profile of one assistant leaves the other serving', async () => {
    await save(file(bench, { receptionGreeting: 'Hello from the new reception.', supportLlm: 'dead' }));
    await waitFor(() => (source.current().version === 3 ? true : undefined), 10_000, 'the reload');
    const reception = await joinRoom('reception');
    assert.match(await ask(reception.participant, 'Can you hear me?'), /You said: Can you hear me/);
    const support = await joinRoom('support');
    assert.equal(await ask(support.participant, 'Hello?'), LLM_APOLOGY);
    await waitFor(
      () => {
        const status = agent.status?.() as { assistants: Array<Record<string, unknown>> };
        const s = status.assistants.find((a) => a['name'] === `support-${tag}`);
        return s && Number(s['errors']) > 0 ? true : undefined;
      },
      10_000,
      'the support errors in /status',
    );
  });

  it('an invalid edit is refused with a logged error naming the place; the running version stays', async () => {
    await save(file(bench, { receptionGreeting: 'Hello from the new reception.', supportLlm: 'no-such-profile' }));
    await waitFor(() => logs().find((l) => l['msg']?.toString().startsWith('assistants file edit refused')), 10_000, 'the refusal in the log');
    const refused = logs().find((l) => l['msg']?.toString().startsWith('assistants file edit refused'))!;
    assert.match(String(refused['cause']), /assistants\[1\]\.llm/);
    assert.equal(source.current().version, 3);
    const reception = await joinRoom('reception');
    assert.equal(reception.greeting, 'Hello from the new reception.');
  });
});
