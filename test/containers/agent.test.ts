/**
 * Agent mode in containers: a LiveKit server container (the livekit/livekit-server image) and an agent
 * container from the service image using its built-in local models (no provider configured), both hardened
 * (read-only root, no capabilities, non-root). The agent registers, answers a room a test participant on
 * the host joins (greeting and a spoken question; the answer as heard by an independent recognizer,
 * faster-whisper, as in the agent end-to-end tests: pocketsphinx does poorly on short WebRTC replies), and on SIGTERM keeps
 * the live conversation going while it drains, then exits 0 within the grace period.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { encodeWav } from '../../src/audio/index.js';
import { liveKitConfigYaml } from '../support/livekit-server.js';
import { freeTcpPort, freeUdpPort } from '../support/ports.js';
import { type SttTestServer, startSttServer } from '../support/stt-server.js';
import { TestParticipant } from '../support/test-participant.js';
import { TEST_VOICE, requireTestVoice } from '../support/voices.js';
import { wordAccuracy } from '../support/word-accuracy.js';
import { ask, Container, ensureImages, GREETING, greeted, HARDENED, IMAGE, LIVEKIT_IMAGE, podmanAsync, type Recognizer, waitReady } from './support.js';

const API_KEY = 'containers';
const API_SECRET = randomBytes(24).toString('hex');
const AGENT_NAME = `container-agent-${process.pid}`;
const SHUTDOWN_TIMEOUT_MS = 20_000;
/** What `docker-compose.yml` / deploy/k8s give the process after SIGTERM before SIGKILL, scaled to this drain. */
const GRACE_MS = 40_000;

describe('an agent-mode container answers a room through a LiveKit container', { timeout: 60 * 60_000 }, () => {
  const livekit = new Container('livekit');
  const agent = new Container('agent');
  let livekitUrl = '';
  let opsUrl = '';
  let participant: TestParticipant | undefined;
  let recognizer: SttTestServer | undefined;
  const whisper: Recognizer = (pcm) => recognizer!.transcribe(encodeWav(pcm, 16_000, 1));

  before(async () => {
    ensureImages();
    recognizer = await startSttServer();
    const ports = { port: await freeTcpPort(), rtcTcpPort: await freeTcpPort(), rtcUdpPort: await freeUdpPort() };
    livekitUrl = `ws://127.0.0.1:${ports.port}`;
    livekit.start(LIVEKIT_IMAGE, [
      ...HARDENED,
      '--user',
      '65534:65534',
      '--memory',
      '512m',
      '--env',
      `LIVEKIT_CONFIG=${liveKitConfigYaml(ports, API_KEY, API_SECRET, 'info')}`,
    ]);
    await waitReady(`http://127.0.0.1:${ports.port}/`, livekit, 30_000);

    const [healthPort, agentHealthPort, llmPort, sttPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    opsUrl = `http://127.0.0.1:${healthPort}`;
    // No provider settings: the image's local models (/models) start inside the container.
    agent.start(IMAGE, [
      ...HARDENED,
      '--memory',
      '3g',
      '--volume',
      `${requireTestVoice()}:/voices:ro`,
      ...[
        `LIVEKIT_URL=${livekitUrl}`,
        `LIVEKIT_API_KEY=${API_KEY}`,
        `LIVEKIT_API_SECRET=${API_SECRET}`,
        `AGENT_NAME=${AGENT_NAME}`,
        `TTS_VOICE=${TEST_VOICE}`,
        'WEB_ENABLED=false',
        'HEALTH_HOST=127.0.0.1',
        `HEALTH_PORT=${healthPort}`,
        `AGENT_HEALTH_PORT=${agentHealthPort}`,
        `LOCAL_LLM_PORT=${llmPort}`,
        `LOCAL_STT_PORT=${sttPort}`,
        `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}`,
      ].flatMap((e) => ['--env', e]),
    ]);
    await waitReady(`${opsUrl}/ready`, agent, 240_000);
  });

  after(async () => {
    await participant?.leave();
    agent.remove();
    livekit.remove();
    await recognizer?.stop();
    await dispose();
  });

  it('registers with the LiveKit container using its built-in local models', async () => {
    const status = (await (await fetch(`${opsUrl}/status`)).json()) as { components: Array<Record<string, unknown>> };
    const component = (name: string) => status.components.find((c) => c['name'] === name) as Record<string, Record<string, unknown>> | undefined;
    assert.equal(component('agent')?.['registered'] as unknown, true);
    const models = component('local-models');
    assert.ok(models, `no local-models component: ${JSON.stringify(status)}`);
    assert.equal(models['llm']?.['state'], 'running');
    assert.equal(models['stt']?.['state'], 'running');
    assert.match(livekit.logs(), new RegExp(`worker registered.*${AGENT_NAME}`));
  });

  it('greets a participant on the host and answers a spoken question correctly and intelligibly', async () => {
    participant = await TestParticipant.join({
      url: livekitUrl,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      room: `containers-${Date.now()}`,
      agentName: AGENT_NAME,
    });
    assert.equal(await greeted(participant, performance.now() - 1000), GREETING);

    const turn = await ask(participant, 'What is the capital of France?', 'agent', whisper);
    console.log(`turn: user "${turn.user}", agent "${turn.answer}", heard "${turn.heard}"`);
    assert.ok(wordAccuracy('What is the capital of France?', turn.user) >= 0.6, `the agent transcribed the user as "${turn.user}"`);
    assert.match(turn.answer, /paris/i, `the answer: "${turn.answer}"`);
    const accuracy = wordAccuracy(turn.answer, turn.heard);
    assert.ok(accuracy >= 0.6, `the agent said "${turn.answer}", the recognizer heard "${turn.heard}" (${(accuracy * 100).toFixed(0)} %)`);
  });

  it('on SIGTERM keeps answering the live conversation while it drains, then exits 0 within the grace period', async () => {
    assert.ok(participant, 'the previous test joined the room');
    const started = performance.now();
    const kill = await podmanAsync(['kill', '--signal', 'TERM', agent.name]);
    assert.equal(kill.code, 0, kill.stderr);
    // The conversation in flight goes on during the drain.
    const turn = await ask(participant, 'What is the capital of France?', 'agent-draining', whisper);
    assert.match(turn.answer, /paris/i, `answer during the drain: "${turn.answer}"`);
    const waited = await podmanAsync(['wait', agent.name], GRACE_MS + 10_000);
    const ms = performance.now() - started;
    console.log(`SIGTERM to exit: ${ms.toFixed(0)} ms (SHUTDOWN_TIMEOUT_MS ${SHUTDOWN_TIMEOUT_MS}, grace ${GRACE_MS})`);
    assert.equal(waited.stdout.trim(), '0', `exit code ${waited.stdout.trim()}\n${agent.logs()}`);
    assert.ok(ms < GRACE_MS, `exited after ${ms} ms, beyond the grace period`);
    assert.match(agent.logs(), /shutting down: draining work in flight[\s\S]*"stopped"/);
  });
});
