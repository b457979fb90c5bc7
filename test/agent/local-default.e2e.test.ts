/**
 * The README's first command, as a new user gets it: the real service (`src/main.ts`, agent mode) with
 * NO provider settings at all, so it starts and supervises its own local speech-to-text (Whisper
 * tiny.en via whisper.cpp) and language model (Qwen2.5-Coder-0.5B-Instruct via node-llama-cpp). A @livekit/rtc-node
 * participant asks a spoken question through a real LiveKit server; the answer must be correct, and
 * is checked as heard by an independent recognizer (faster-whisper, a different Whisper runtime).
 * Then the language model process hangs mid-conversation: the user hears the apology, the supervisor
 * replaces the process, and the next question is answered again.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { LLM_APOLOGY } from '../../src/agent/settings.js';
import { encodeWav, Resampler } from '../../src/audio/index.js';
import { speech48k } from '../support/agent-bench.js';
import type { PeerProcess } from '../support/child-process.js';
import { startDefaultService } from '../support/default-service.js';
import { type LiveKitTestServer, startLiveKitServer } from '../support/livekit-server.js';
import { type SttTestServer, startSttServer } from '../support/stt-server.js';
import { RATE, TestParticipant } from '../support/test-participant.js';
import { wordAccuracy } from '../support/word-accuracy.js';

const TURN_MS = 60_000;

/** The direct children of `pid` and their command lines (Linux /proc). */
function children(pid: number): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}

function childCommandLines(pid: number): string[] {
  return children(pid).map((child) => child.cmd);
}

interface LocalModelStatus {
  model: string;
  state: string;
  restarts: number;
  pid: number | null;
  memory_bytes: number | null;
}

describe('agent mode with no provider configured: local models by default', { timeout: 900_000 }, () => {
  let livekit: LiveKitTestServer;
  let recognizer: SttTestServer;
  let service: PeerProcess;
  let statusUrl: string;
  let agentName: string;
  let participant: TestParticipant | undefined;

  const localModels = async (): Promise<Record<'llm' | 'stt', LocalModelStatus>> => {
    const status = (await (await fetch(statusUrl)).json()) as { components: Array<Record<string, unknown>> };
    const component = status.components.find((c) => c['name'] === 'local-models');
    assert.ok(component, `no local-models component in /status: ${JSON.stringify(status)}`);
    return component as unknown as Record<'llm' | 'stt', LocalModelStatus>;
  };

  /** Asks `question` aloud; resolves with the agent's transcript and what the independent recognizer heard. */
  const ask = async (question: string) => {
    assert.ok(participant);
    const { endedAt } = await participant.say(await speech48k(question));
    const user = await participant.transcriptAfter('user', endedAt - 5000, TURN_MS);
    const firstSound = await participant.firstSoundAfter(endedAt, TURN_MS);
    const answer = await participant.transcriptAfter('agent', endedAt, TURN_MS);
    const end = await participant.soundEnd(firstSound, 1500, TURN_MS);
    const heard = await recognizer.transcribe(encodeWav(Resampler.oneShot(participant.audioBetween(firstSound - 20, end + 20), RATE, 16_000), 16_000, 1));
    return { user: user.text, answer: answer.text, heard };
  };

  before(async () => {
    [livekit, recognizer] = await Promise.all([startLiveKitServer(), startSttServer()]);
    const started = await startDefaultService({ livekit, name: 'local-default', web: false });
    service = started.process;
    statusUrl = `${started.healthUrl}/status`;
    agentName = started.agentName;
  });

  after(async () => {
    await participant?.leave();
    await service?.stop(20_000);
    await Promise.allSettled([livekit?.stop(), recognizer?.stop()]);
    await dispose();
  });

  it('starts its own local models and says which in /status and the startup log', async () => {
    const models = await localModels();
    assert.equal(models.llm.model, 'qwen2.5-coder-0.5b-instruct-q4_k_m');
    assert.equal(models.stt.model, 'moonshine-tiny-en');
    for (const m of [models.llm, models.stt]) {
      assert.equal(m.state, 'running');
      assert.ok((m.memory_bytes ?? 0) > 20 * 1024 * 1024, `memory reported: ${JSON.stringify(m)}`);
    }
    assert.match(service.output(), /assistant in force/);
    assert.match(service.output(), /local 127\.0\.0\.1:\d+/);
  });

  it('answers a spoken factual question correctly, in speech an independent recognizer hears', async () => {
    participant = await TestParticipant.join({
      url: livekit.url,
      apiKey: livekit.apiKey,
      apiSecret: livekit.apiSecret,
      room: `local-default-${Date.now()}`,
      agentName,
    });
    const joined = performance.now();
    await participant.waitForAgent(TURN_MS);
    const greeting = await participant.firstSoundAfter(joined, TURN_MS);
    await participant.soundEnd(greeting, 1200, TURN_MS);

    const question = 'What is the capital of France?';
    const turn = await ask(question);
    assert.ok(wordAccuracy(question, turn.user) >= 0.8, `the user's words, transcribed locally: "${turn.user}"`);
    assert.match(turn.answer, /paris/i, `the local model's answer: "${turn.answer}"`);
    assert.match(turn.heard, /paris/i, `said "${turn.answer}", an independent recognizer heard "${turn.heard}"`);
  });

  it('runs its job processes as room hosts of bundled JavaScript with the configured heap limits, without the tsx loader the service itself runs under', async () => {
    const all = childCommandLines(service.pid!);
    assert.ok(!all.some((cmd) => cmd.includes('job_proc_lazy_main')), `no process of the framework's own (one per room): ${JSON.stringify(all)}`);
    const jobs = all.filter((cmd) => cmd.includes('host.mjs'));
    assert.ok(jobs.length >= 1, `job processes of the service: ${JSON.stringify(all)}`);
    for (const cmd of jobs) {
      // the host program, the job module it loads, and the rooms it takes over its life (AGENT_ROOMS_PER_PROCESS_LIFE)
      assert.match(cmd, /host\.mjs\S* \S*job\.mjs\S* 100$/, cmd);
      assert.doesNotMatch(cmd, /tsx/, cmd);
      // the heap limits of AGENT_JOB_SEMI_SPACE_MB and AGENT_JOB_HEAP_GROWING_PERCENT (defaults)
      assert.match(cmd, /--max-semi-space-size=8\b/, cmd);
      assert.match(cmd, /--heap-growing-percent=20\b/, cmd);
    }
    assert.match(readFileSync(`/proc/${service.pid}/cmdline`, 'utf8'), /tsx/, 'the service itself runs TypeScript through tsx');
  });

  it('keeps onnxruntime from recording (and uploading) telemetry in the service and its job processes', () => {
    const jobs = children(service.pid!).filter((child) => child.cmd.includes('host.mjs'));
    assert.ok(jobs.length >= 1);
    for (const pid of [service.pid!, ...jobs.map((job) => job.pid)]) {
      const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
      assert.match(maps, /libonnxruntime/, `process ${pid} runs onnxruntime (Piper or the VAD)`);
      assert.doesNotMatch(maps, /onnxruntime\.db/, `process ${pid} opened onnxruntime's telemetry database`);
    }
    // the service sets it for what it starts; its own environment at exec is the test's
    for (const job of jobs) assert.match(readFileSync(`/proc/${job.pid}/environ`, 'utf8'), /(^|\0)ORT_DISABLE_TELEMETRY=1\0/);
  });

  it('keeps its processes free of an image library', () => {
    const jobs = children(service.pid!).filter((child) => child.cmd.includes('host.mjs'));
    assert.ok(jobs.length >= 1);
    for (const pid of [service.pid!, ...jobs.map((job) => job.pid)]) {
      const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
      assert.match(maps, /rtc-node/, `process ${pid} runs LiveKit's native client, which imports @livekit/agents`);
      assert.doesNotMatch(maps, /libvips|sharp-linux/, `process ${pid} loaded sharp's image library`);
    }
  });

  it('a language model process that hangs mid-conversation costs one apology, is replaced, and answers again', async () => {
    assert.ok(participant);
    const before = (await localModels()).llm;
    assert.ok(before.pid);
    process.kill(before.pid, 'SIGSTOP');
    try {
      const turn = await ask('What is the capital of Italy?');
      assert.equal(turn.answer.trim(), LLM_APOLOGY, `expected the apology, got "${turn.answer}"`);
    } catch (err) {
      process.kill(before.pid, 'SIGCONT');
      throw err;
    }
    const deadline = Date.now() + 120_000;
    let replaced = (await localModels()).llm;
    while (!(replaced.state === 'running' && replaced.pid !== before.pid) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      replaced = (await localModels()).llm;
    }
    assert.notEqual(replaced.pid, before.pid, `the supervisor replaced the hung process: ${JSON.stringify(replaced)}`);
    assert.equal(replaced.restarts, before.restarts + 1);
    // The first turn after the restart may still meet the framework's retry of the abandoned request
    // (seen once in CI: a second apology); the one after it must be answered.
    let again = await ask('What is the capital of France?');
    if (again.answer.trim() === LLM_APOLOGY) again = await ask('What is the capital of France?');
    assert.match(again.answer, /paris/i, `after the restart: "${again.answer}"`);
  });
});
