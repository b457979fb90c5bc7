/**
 * The limits that keep one room from pinning an agent forever, and typed chat bounds, on a real
 * LiveKit server with Piper speaking and the stand-in chat server ("You said: …"): a user who stays
 * silent, a room nobody joins, a conversation past its maximum length, oversized and too frequent
 * chat messages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import type { Config } from '../../src/config/schema.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { peerCacheDir } from '../support/cache.js';
import { startLiveKitServer, type LiveKitTestServer } from '../support/livekit-server.js';
import { startLlmServer, type LlmTestServer } from '../support/llm-server.js';
import { benchConfig, capturedLogger, TEST_VOICE, createAgentWithSpeech } from '../support/agent-bench.js';
import type { AgentComponent } from '../../src/agent/index.js';
import { MAX_CONVERSATION_NOTICE } from '../../src/agent/settings.js';
import { TestParticipant, waitFor } from '../support/test-participant.js';

const AWAY_MS = 8000;
/** Below the schema's minimum (60 s) to keep the test short: the config reaches the jobs as given. */
const MAX_MS = 30_000;
const MAX_CHARS = 50;
const RATE_PER_MIN = 6;

describe('conversation limits and typed chat bounds', { timeout: 300_000 }, () => {
  let livekit: LiveKitTestServer;
  let llm: LlmTestServer;
  let agent: AgentComponent;
  const agentName = `limits-${process.pid}`;
  const participants: TestParticipant[] = [];

  before(async () => {
    livekit = await startLiveKitServer();
    llm = await startLlmServer({ engine: 'stand-in' });
    const loaded = benchConfig({
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: livekit.apiKey,
      LIVEKIT_API_SECRET: livekit.apiSecret,
      AGENT_NAME: agentName,
      AGENT_HEALTH_PORT: '0',
      LLM_BASE_URL: llm.baseURL,
      LLM_MODEL: llm.model,
      AGENT_GREETING: '',
      VOICES_DIR: join(peerCacheDir(), 'voices'),
      TTS_VOICE: TEST_VOICE,
      AGENT_USER_AWAY_TIMEOUT_MS: String(AWAY_MS),
      AGENT_MAX_CHAT_CHARS: String(MAX_CHARS),
      AGENT_CHAT_RATE_PER_MIN: String(RATE_PER_MIN),
      LOG_LEVEL: 'warn',
    });
    const config: Config = Object.freeze({ ...loaded, AGENT_MAX_CONVERSATION_MS: MAX_MS });
    agent = createAgentWithSpeech({ config, logger: capturedLogger(config).logger, metrics: createMetricsRegistry('agent') });
    await agent.start();
  });

  afterEach(async () => {
    for (const p of participants.splice(0)) await p.leave();
  });

  after(async () => {
    for (const p of participants) await p.leave();
    await agent?.stop(Date.now() + 10_000);
    await llm?.stop();
    await livekit?.stop();
    await dispose();
  });

  async function joinRoom(room: string): Promise<{ participant: TestParticipant; agentIdentity: string; joinedAt: number }> {
    const participant = await TestParticipant.join({ url: livekit.url, apiKey: livekit.apiKey, apiSecret: livekit.apiSecret, room, agentName });
    participants.push(participant);
    const agentIdentity = await participant.waitForAgent(60_000);
    return { participant, agentIdentity, joinedAt: performance.now() };
  }

  const agentLeft = (participant: TestParticipant, identity: string, timeoutMs: number) =>
    waitFor(() => (participant.room.remoteParticipants.has(identity) ? undefined : true), timeoutMs, 'the agent to leave the room');

  async function chat(participant: TestParticipant, text: string): Promise<string | undefined> {
    const sent = performance.now();
    await participant.sendChat(text);
    try {
      return (await participant.transcriptAfter('agent', sent, 4000)).text;
    } catch {
      return undefined;
    }
  }

  it('answers typed chat, ignores messages over AGENT_MAX_CHAT_CHARS and beyond AGENT_CHAT_RATE_PER_MIN', async () => {
    const { participant } = await joinRoom(`limits-chat-${Date.now()}`);
    assert.equal((await chat(participant, 'hello there'))?.trim(), 'You said: hello there.');
    const before = llm.requests;
    assert.equal(await chat(participant, 'x'.repeat(MAX_CHARS + 1)), undefined, 'no answer to an oversized message');
    assert.equal(llm.requests, before, 'an oversized message never reaches the language model');

    // Two of the minute's six are used; a burst of ten gets at most the rest (plus a little refill).
    const burstAt = performance.now();
    for (let i = 1; i <= 10; i++) {
      await participant.sendChat(`burst ${i}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 6000));
    const admitted = llm.requests - before;
    assert.ok(admitted >= 1 && admitted <= RATE_PER_MIN - 1, `${admitted} of 10 burst messages reached the language model`);
    const answered = participant.transcripts.filter((t) => t.speaker === 'agent' && t.at > burstAt).map((t) => t.text);
    for (const late of [7, 8, 9, 10]) {
      assert.ok(!answered.some((t) => t.includes(`burst ${late}.`)), `burst ${late} was answered: ${answered.join(' | ')}`);
    }
  });

  it('leaves a room whose user stays silent for AGENT_USER_AWAY_TIMEOUT_MS', async () => {
    const { participant, agentIdentity, joinedAt } = await joinRoom(`limits-away-${Date.now()}`);
    await agentLeft(participant, agentIdentity, AWAY_MS + 20_000);
    const took = performance.now() - joinedAt;
    assert.ok(took >= AWAY_MS - 1000, `left after ${Math.round(took)} ms, not before the away timeout`);
  });

  it('leaves a room nobody joins after AGENT_USER_AWAY_TIMEOUT_MS', async () => {
    const room = `limits-empty-${Date.now()}`;
    const rooms = new RoomServiceClient(livekit.httpUrl, livekit.apiKey, livekit.apiSecret);
    await rooms.createRoom({ name: room, emptyTimeout: 120 });
    await new AgentDispatchClient(livekit.httpUrl, livekit.apiKey, livekit.apiSecret).createDispatch(room, agentName);
    const agentIn = async () => (await rooms.listParticipants(room)).some((p) => p.identity.startsWith('agent-'));
    const deadline = Date.now() + 60_000;
    while (!(await agentIn())) {
      assert.ok(Date.now() < deadline, 'the agent never joined the dispatched room');
      await new Promise((r) => setTimeout(r, 250));
    }
    const joined = Date.now();
    while (await agentIn()) {
      assert.ok(Date.now() - joined < AWAY_MS + 20_000, 'the agent stayed in a room nobody joined');
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(Date.now() - joined >= AWAY_MS - 1000);
  });

  it('says goodbye and leaves at AGENT_MAX_CONVERSATION_MS even while the user keeps talking', async () => {
    const { participant, agentIdentity, joinedAt } = await joinRoom(`limits-max-${Date.now()}`);
    // Keep the conversation busy (a chat every 5 s) so that only the maximum length can end it.
    let chatting = true;
    const keepBusy = (async () => {
      for (let i = 0; chatting && i < RATE_PER_MIN; i++) {
        await participant.sendChat(`message ${i}`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 5000));
      }
    })();
    try {
      const goodbye = await participant.transcriptAfter('agent', joinedAt, MAX_MS + 30_000, (t) => t.text.includes('time limit'));
      assert.equal(goodbye.text.trim(), MAX_CONVERSATION_NOTICE);
      await agentLeft(participant, agentIdentity, 30_000);
      const took = performance.now() - joinedAt;
      assert.ok(took >= MAX_MS - 2000, `ended after ${Math.round(took)} ms`);
    } finally {
      chatting = false;
      await keepBusy;
    }
  });
});
