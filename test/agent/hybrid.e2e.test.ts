/**
 * The real service process (`src/main.ts`, ORCHESTRATOR_MODE=hybrid) on the real bench: one
 * process runs the LiveKit agent worker and the legacy WebSocket server. A LiveKit participant
 * and a legacy WebSocket client are served at the same time; /ready, /metrics and a clean
 * SIGTERM shutdown are checked on the way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { LegacyClient } from '../../src/legacy/client.js';
import { httpOk, PeerProcess, waitUntilReady } from '../support/child-process.js';
import { freeTcpPort } from '../support/ports.js';
import { wordAccuracy } from '../support/word-accuracy.js';
import { benchEnv, speech48k, startBench, type Bench } from '../support/agent-bench.js';
import { TestParticipant } from '../support/test-participant.js';

describe('hybrid mode: the real service process serves a LiveKit room and a legacy WebSocket client at once', { timeout: 420_000 }, () => {
  let bench: Bench;
  let service: PeerProcess;
  let healthUrl: string;
  let legacyUrl: string;
  let env: Record<string, string>;
  let participant: TestParticipant | undefined;
  let legacy: LegacyClient | undefined;

  before(async () => {
    bench = await startBench();
    const [healthPort, legacyPort, webPort, agentHealthPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    env = benchEnv(bench, {
      ORCHESTRATOR_MODE: 'hybrid',
      WYOMING_PORT: String(await freeTcpPort()),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: String(healthPort),
      LEGACY_HOST: '127.0.0.1',
      LEGACY_PORT: String(legacyPort),
      WEB_HOST: '127.0.0.1',
      WEB_PORT: String(webPort),
      AGENT_HEALTH_PORT: String(agentHealthPort),
    });
    healthUrl = `http://127.0.0.1:${healthPort}`;
    legacyUrl = `ws://127.0.0.1:${legacyPort}`;
    service = new PeerProcess({
      name: 'voice-orchestrator (hybrid)',
      command: process.execPath,
      args: ['--import', 'tsx', 'src/main.ts'],
      cwd: PROJECT_ROOT,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      keepLines: 200,
    });
    await waitUntilReady(service, () => httpOk(`${healthUrl}/ready`), 120_000, 'ready (worker registered, legacy listening)');
  });

  after(async () => {
    await participant?.leave();
    legacy?.close();
    await service?.stop(15_000);
    await bench?.stop();
    await dispose();
  });

  it('answers a spoken question in a LiveKit room while synthesizing for a legacy client', async () => {
    participant = await TestParticipant.join({
      url: bench.livekit.url,
      apiKey: bench.livekit.apiKey,
      apiSecret: bench.livekit.apiSecret,
      room: `hybrid-${Date.now()}`,
      agentName: env.AGENT_NAME!,
    });
    const joined = performance.now();
    const greeting = await participant.transcriptAfter('agent', joined, 90_000);
    assert.match(greeting.text, /how can i help/i);
    const greetingSound = await participant.firstSoundAfter(joined, 60_000);
    await participant.soundEnd(greetingSound, 1200, 60_000);

    legacy = await LegacyClient.connect(legacyUrl, { timeoutMs: 10_000 });
    let legacyFrames = 0;
    legacy.on('frame', () => legacyFrames++);
    const question = 'What is the capital city of France?';
    const speaking = participant.say(await speech48k(question));
    legacy.say('The legacy server keeps speaking while the agent listens.');
    const { endedAt } = await speaking;
    const user = await participant.transcriptAfter('user', endedAt - 5000, 60_000);
    assert.ok(wordAccuracy(question, user.text) >= 0.8, `user transcript "${user.text}"`);
    await participant.firstSoundAfter(endedAt, 60_000);
    await participant.transcriptAfter('agent', endedAt, 60_000);
    const deadline = Date.now() + 30_000;
    while (legacyFrames < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(legacyFrames >= 10, `legacy client got ${legacyFrames} audio frames`);
  });

  it('reports both parts ready and agent metrics with mode="hybrid"', async () => {
    const status = (await (await fetch(`${healthUrl}/status`)).json()) as { components: Array<{ name: string; ready: boolean; registered?: boolean }> };
    const agent = status.components.find((c) => c.name === 'agent');
    assert.equal(agent?.ready, true);
    assert.equal(agent?.registered, true);
    // a turn's latency is reported once its reply has been spoken: give it a moment
    const deadline = Date.now() + 15_000;
    let metrics = '';
    for (;;) {
      metrics = await (await fetch(`${healthUrl}/metrics`)).text();
      if (/^agent_turn_llm_ttft_seconds_count\{[^}]*mode="hybrid"[^}]*\} [1-9]/m.test(metrics) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(metrics, /^agent_sessions_total\{[^}]*mode="hybrid"[^}]*\} [1-9]/m);
    assert.match(metrics, /^agent_turn_llm_ttft_seconds_count\{[^}]*mode="hybrid"[^}]*\} [1-9]/m);
    assert.match(metrics, /^agent_turn_e2e_seconds_count\{[^}]*mode="hybrid"[^}]*\} [1-9]/m);
  });

  it('stops cleanly on SIGTERM', async () => {
    await participant?.leave();
    participant = undefined;
    legacy?.close();
    await service.stop(20_000);
    const exit = await service.exited;
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${service.output()}`);
  });
});
