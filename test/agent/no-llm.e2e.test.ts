/**
 * Agent mode with the language model turned off (LLM_PROVIDER=none), on a real LiveKit server with
 * Piper speaking: the operator gets a startup warning naming the variable, and a user
 * who joins hears once that no language model is configured instead of silence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { testVoicesDir } from '../support/voices.js';
import { startLiveKitServer, type LiveKitTestServer } from '../support/livekit-server.js';
import type { AgentComponent } from '../../src/agent/index.js';
import { benchConfig, capturedLogger, TEST_VOICE, createAgentWithSpeech } from '../support/agent-bench.js';
import { NO_LLM_NOTICE } from '../../src/agent/settings.js';
import { TestParticipant } from '../support/test-participant.js';

describe('agent mode without a language model', { timeout: 240_000 }, () => {
  let livekit: LiveKitTestServer;
  let agent: AgentComponent;
  let logLines: () => Array<Record<string, unknown>>;
  let participant: TestParticipant | undefined;
  const agentName = `no-llm-${process.pid}`;

  before(async () => {
    livekit = await startLiveKitServer();
    const config = benchConfig({
      LLM_PROVIDER: 'none',
      STT_PROVIDER: 'none',
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: livekit.apiKey,
      LIVEKIT_API_SECRET: livekit.apiSecret,
      AGENT_NAME: agentName,
      AGENT_HEALTH_PORT: '0',
      VOICES_DIR: testVoicesDir(),
      TTS_VOICE: TEST_VOICE,
      LOG_LEVEL: 'warn',
    });
    const captured = capturedLogger(config);
    logLines = captured.lines;
    agent = createAgentWithSpeech({ config, logger: captured.logger, metrics: createMetricsRegistry('agent') });
    await agent.start();
  });

  after(async () => {
    await participant?.leave();
    await agent?.stop(Date.now() + 10_000);
    await livekit?.stop();
    await dispose();
  });

  it('warns at startup, naming LLM_PROVIDER', () => {
    const warning = logLines().find((l) => l['level'] === 40 && /no language model/.test(String(l['msg'])));
    assert.ok(warning, 'no startup warning about the missing language model');
    assert.match(String(warning['msg']), /LLM_PROVIDER=none/);
    assert.equal(agent.health().ready, true);
  });

  it('tells a joining user once, in speech and transcript, that no language model is configured (asking for a voice that is not installed falls back to TTS_VOICE)', async () => {
    participant = await TestParticipant.join({
      url: livekit.url,
      apiKey: livekit.apiKey,
      apiSecret: livekit.apiSecret,
      room: `no-llm-${Date.now()}`,
      agentName,
      metadata: JSON.stringify({ voice: 'en_US-not-installed-medium' }),
    });
    const joined = performance.now();
    const notice = await participant.transcriptAfter('agent', joined, 90_000);
    assert.equal(notice.text.trim(), NO_LLM_NOTICE);
    const first = await participant.firstSoundAfter(joined, 60_000);
    const end = await participant.soundEnd(first, 1500, 60_000);
    const soundMs = participant.soundMs(first - 1, end);
    assert.ok(soundMs > 2500, `only ${soundMs} ms of speech for the notice`);
    // Once: typed chat afterwards gets no second notice.
    await participant.sendChat('Hello, is anybody there?');
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(participant.transcripts.filter((t) => t.speaker === 'agent').length, 1);
  });
});
