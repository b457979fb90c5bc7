/**
 * Scale-out on one machine (issue 15, item 4): three agent-worker containers from the service image (as
 * three replicas of deploy/k8s/agent-deployment.yaml would be) register under one agent name with one
 * LiveKit server container and share one models container. A worker's reported load is sessions /
 * AGENT_MAX_SESSIONS, and LiveKit sends no room to a full worker (load 1). w1 and w2 take 1 room, w3 takes 2
 * (kept small: the machine has 2 cores):
 *  - four rooms spread 1 / 1 / 2;
 *  - a worker killed with SIGKILL loses only its own rooms (the others' agents stay), and a new room goes
 *    to a worker with room left;
 *  - a worker given SIGTERM reports itself full (takes no new room although it has room for one), keeps
 *    answering its live conversation while it drains, and exits 0 within the grace period.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { encodeWav } from '../../src/audio/index.js';
import { liveKitConfigYaml } from '../support/livekit-server.js';
import { freeTcpPort, freeUdpPort } from '../support/ports.js';
import { type SttTestServer, startSttServer } from '../support/stt-server.js';
import { TestParticipant } from '../support/test-participant.js';
import { TEST_VOICE, requireTestVoice } from '../support/voices.js';
import { ask, Container, ensureImages, GREETING, greeted, HARDENED, IMAGE, LIVEKIT_IMAGE, podmanAsync, type Recognizer, waitReady } from './support.js';

const API_KEY = 'scale-out';
const API_SECRET = randomBytes(24).toString('hex');
const AGENT_NAME = `scale-out-${process.pid}`;
/** AGENT_MAX_SESSIONS of w1, w2, w3. */
const MAX_SESSIONS = [1, 1, 2];
const SHUTDOWN_TIMEOUT_MS = 60_000;
const GRACE_MS = 75_000;
/** How long a room without an agent is watched to show that none comes. */
const NO_AGENT_MS = 15_000;

interface Worker {
  name: string;
  container: Container;
  opsUrl: string;
  rooms: Room[];
}

interface Room {
  name: string;
  participant: TestParticipant;
  agentIdentity: string;
}

describe('three agent workers behind one LiveKit server: rooms spread by load, SIGKILL and SIGTERM', { timeout: 60 * 60_000 }, () => {
  const livekit = new Container('scale-livekit');
  const models = new Container('scale-models');
  const workers: Worker[] = [];
  const participants: TestParticipant[] = [];
  let livekitUrl = '';
  let rooms: RoomServiceClient;
  let recognizer: SttTestServer | undefined;
  const whisper: Recognizer = (pcm) => recognizer!.transcribe(encodeWav(pcm, 16_000, 1));

  /** Sessions the worker reports on /status (patient: a loaded machine may stall it for seconds). */
  const sessions = async (worker: Worker): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const status = (await (await fetch(`${worker.opsUrl}/status`, { signal: AbortSignal.timeout(15_000) })).json()) as {
          components: Array<Record<string, unknown>>;
        };
        return Number(status.components.find((c) => c['name'] === 'agent')?.['sessions_active']);
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  };
  /** Sessions per worker; -1 for one that does not answer (killed). */
  const counts = () => Promise.all(workers.map((w) => sessions(w).catch(() => -1)));

  /** Opens a room and returns it once an agent greeted in it, with the worker that took it. */
  const openRoom = async (label: string): Promise<{ room: Room; worker: Worker }> => {
    const before = await counts();
    const name = `${AGENT_NAME}-${label}`;
    const participant = await TestParticipant.join({ url: livekitUrl, apiKey: API_KEY, apiSecret: API_SECRET, room: name, agentName: AGENT_NAME });
    participants.push(participant);
    assert.equal(await greeted(participant, performance.now() - 1000), GREETING, `${name}: greeting`);
    const room = { name, participant, agentIdentity: participant.agentIdentity! };
    // the worker whose session count went up took it
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await counts();
      const index = now.findIndex((n, i) => n === before[i]! + 1);
      if (index >= 0) {
        workers[index]!.rooms.push(room);
        return { room, worker: workers[index]! };
      }
      assert.ok(Date.now() < deadline, `no worker took ${name}: sessions ${before} -> ${now}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  /** How often the worker has told LiveKit it has room again (its load goes out every 2.5 s). */
  const availableMarks = async (worker: Worker): Promise<number> => {
    const logs = await podmanAsync(['logs', worker.container.name]);
    return (logs.stdout + logs.stderr).split('marking as available').length - 1;
  };

  /** Ends one of the worker's conversations (the room is deleted) and waits until LiveKit knows it has room. */
  const endOneRoom = async (worker: Worker): Promise<void> => {
    const marks = await availableMarks(worker);
    const room = worker.rooms.shift()!;
    await rooms.deleteRoom(room.name);
    await eventually(async () => (await availableMarks(worker)) > marks, 30_000, `${worker.name} reported room for one more`);
    assert.equal(await sessions(worker), worker.rooms.length);
  };

  const agentPresent = (room: Room) => room.participant.room.remoteParticipants.has(room.agentIdentity);

  /** Waits until `predicate` holds, polling. */
  const eventually = async (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      assert.ok(Date.now() < deadline, `timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  before(async () => {
    ensureImages();
    recognizer = await startSttServer();
    const ports = { port: await freeTcpPort(), rtcTcpPort: await freeTcpPort(), rtcUdpPort: await freeUdpPort() };
    livekitUrl = `ws://127.0.0.1:${ports.port}`;
    rooms = new RoomServiceClient(`http://127.0.0.1:${ports.port}`, API_KEY, API_SECRET);
    livekit.start(LIVEKIT_IMAGE, [...HARDENED, '--user', '65534:65534', '--env', `LIVEKIT_CONFIG=${liveKitConfigYaml(ports, API_KEY, API_SECRET, 'info')}`]);
    await waitReady(`http://127.0.0.1:${ports.port}/`, livekit, 30_000);

    const [modelsHealth, llmPort, sttPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    models.start(IMAGE, [
      ...HARDENED,
      ...['ORCHESTRATOR_MODE=models', 'HEALTH_HOST=127.0.0.1', `HEALTH_PORT=${modelsHealth}`, `LOCAL_LLM_PORT=${llmPort}`, `LOCAL_STT_PORT=${sttPort}`].flatMap(
        (e) => ['--env', e],
      ),
    ]);
    for (const [index, name] of ['w1', 'w2', 'w3'].entries()) {
      const [healthPort, agentHealthPort] = [await freeTcpPort(), await freeTcpPort()];
      const container = new Container(`scale-${name}`);
      container.start(IMAGE, [
        ...HARDENED,
        '--volume',
        `${requireTestVoice()}:/voices:ro`,
        ...[
          `LIVEKIT_URL=${livekitUrl}`,
          `LIVEKIT_API_KEY=${API_KEY}`,
          `LIVEKIT_API_SECRET=${API_SECRET}`,
          `AGENT_NAME=${AGENT_NAME}`,
          `AGENT_MAX_SESSIONS=${MAX_SESSIONS[index]}`,
          `TTS_VOICE=${TEST_VOICE}`,
          'WEB_ENABLED=false',
          'HEALTH_HOST=127.0.0.1',
          `HEALTH_PORT=${healthPort}`,
          `AGENT_HEALTH_PORT=${agentHealthPort}`,
          `LLM_BASE_URL=http://127.0.0.1:${llmPort}/v1`,
          `STT_BASE_URL=http://127.0.0.1:${sttPort}/v1`,
          `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}`,
        ].flatMap((e) => ['--env', e]),
      ]);
      workers.push({ name, container, opsUrl: `http://127.0.0.1:${healthPort}`, rooms: [] });
    }
    await waitReady(`http://127.0.0.1:${modelsHealth}/ready`, models, 240_000);
    for (const worker of workers) await waitReady(`${worker.opsUrl}/ready`, worker.container, 240_000);
  });

  after(async () => {
    for (const p of participants) await p.leave();
    for (const w of workers) w.container.remove();
    models.remove();
    livekit.remove();
    await recognizer?.stop();
    await dispose();
  });

  it('spreads four rooms 1 / 1 / 2: each worker up to its AGENT_MAX_SESSIONS, a full worker gets no room', async () => {
    for (let i = 1; i <= 4; i++) await openRoom(`r${i}`);
    assert.deepEqual(await counts(), MAX_SESSIONS);
    assert.deepEqual(
      workers.map((w) => w.rooms.length),
      MAX_SESSIONS,
    );
  });

  it('a worker killed with SIGKILL loses only its own rooms; a new room goes to a worker with room left', async () => {
    const [killed, third, other] = workers as [Worker, Worker, Worker];
    const kill = await podmanAsync(['kill', '--signal', 'KILL', killed.container.name]);
    assert.equal(kill.code, 0, kill.stderr);
    for (const room of killed.rooms) await eventually(() => !agentPresent(room), 30_000, `the agent of ${room.name} left`);
    for (const room of [...other.rooms, ...third.rooms]) assert.ok(agentPresent(room), `${room.name} kept its agent`);
    assert.deepEqual((await counts()).slice(1), MAX_SESSIONS.slice(1));

    // one of `other`'s conversations ends: it has room for one more, and the new room goes there
    await endOneRoom(other);
    const { worker } = await openRoom('after-kill');
    assert.equal(worker.name, other.name, 'the new room went to the worker with room left');
  });

  it('a worker given SIGTERM reports itself full, takes no new room, and finishes its conversation', async () => {
    const [, full, draining] = workers as [Worker, Worker, Worker]; // w2 (1 of 1), w3 (2 of 2)
    // `draining` keeps one conversation and has room for another before the signal
    await endOneRoom(draining);
    assert.equal(await sessions(full), 1);

    const started = performance.now();
    const term = await podmanAsync(['kill', '--signal', 'TERM', draining.container.name]);
    assert.equal(term.code, 0, term.stderr);
    await new Promise((r) => setTimeout(r, 3000));
    // a new room: `full` is full and `draining` reports full, so no agent comes
    const name = `${AGENT_NAME}-while-draining`;
    const waiting = await TestParticipant.join({ url: livekitUrl, apiKey: API_KEY, apiSecret: API_SECRET, room: name, agentName: AGENT_NAME });
    participants.push(waiting);
    await new Promise((r) => setTimeout(r, NO_AGENT_MS));
    assert.equal(waiting.agentIdentity, undefined, 'no agent joined the room opened while the only worker with room was draining');
    assert.equal(await sessions(draining), 1, 'the draining worker took no new room');

    // its live conversation goes on: a question is answered during the drain
    const live = draining.rooms[0]!;
    const turn = await ask(live.participant, 'What is the capital of France?', 'scale-out-draining', whisper);
    assert.match(turn.answer, /paris/i, `answer during the drain: "${turn.answer}"`);
    const waited = await podmanAsync(['wait', draining.container.name], GRACE_MS + 10_000);
    const ms = performance.now() - started;
    console.log(`SIGTERM to exit: ${ms.toFixed(0)} ms (SHUTDOWN_TIMEOUT_MS ${SHUTDOWN_TIMEOUT_MS}, grace ${GRACE_MS})`);
    assert.equal(waited.stdout.trim(), '0', `exit code ${waited.stdout.trim()}\n${draining.container.logs()}`);
    assert.ok(ms < GRACE_MS, `exited after ${ms} ms`);
    await eventually(() => !agentPresent(live), 15_000, 'the drained agent left its room at the end');
  });
});
