/**
 * docker-compose.yml run with podman-compose (PyPI) on podman: one LiveKit server, the shared model
 * servers and two orchestrators (agent, and hybrid = legacy WebSocket + a second agent), unchanged but for
 * the host ports, the secrets and the voice, which come from the environment as the file asks. Proves the
 * services run hardened, both orchestrators answer a room each through the ONE models service, the speech
 * service speaks on its own port with its token, and stopping the project drains every orchestrator.
 * Differences from Docker here: podman 4.3 runs health checks only on a systemd timer (none here), so
 * podman-compose starts the orchestrators without waiting for `models` to be healthy (they need it only at
 * the first turn) and the test runs the checks by hand.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dispose } from '@livekit/rtc-node';
import { encodeWav } from '../../src/audio/index.js';
import { LegacyClient } from '../../src/legacy/client.js';
import { freeTcpPort, freeUdpPort } from '../support/ports.js';
import { type SttTestServer, startSttServer } from '../support/stt-server.js';
import { TestParticipant } from '../support/test-participant.js';
import { TEST_VOICE, requireTestVoice } from '../support/voices.js';
import { wordAccuracy } from '../support/word-accuracy.js';
import {
  ask,
  CONTAINERS_CONF,
  ensureImages,
  GREETING,
  greeted,
  hear,
  IMAGE,
  podman,
  podmanComposeBin,
  podmanOk,
  type Recognizer,
  ROOT,
  VERSION,
  waitReady,
} from './support.js';

const PROJECT = `vo-test-${process.pid}`;
const SERVICES = ['livekit', 'models', 'agent', 'speech'] as const;
const container = (service: (typeof SERVICES)[number]) => `${PROJECT}_${service}_1`;
const SECRET = randomBytes(24).toString('hex');
const TOKEN = randomBytes(12).toString('hex');
const TEXT = 'Please open the door for me. My brother lives in a small town.';

interface ModelsStatus {
  llm: { requests: number; state: string };
  stt: { requests: number; state: string };
}

describe('docker-compose.yml on podman (podman-compose): side-by-side orchestrators sharing one models service', { timeout: 60 * 60_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vo-compose-'));
  const envFile = join(scratch, 'empty.env');
  let env: NodeJS.ProcessEnv = {};
  const ports: Record<string, number> = {};
  let recognizer: SttTestServer | undefined;
  const whisper: Recognizer = (pcm) => recognizer!.transcribe(encodeWav(pcm, 16_000, 1));
  const participants: TestParticipant[] = [];

  /** podman-compose with this project, the empty env file (a developer's .env must not leak in) and `env`. */
  const compose = (args: string[], timeoutMs = 300_000): Promise<{ code: number | null; output: string }> =>
    new Promise((resolve) => {
      const child = spawn(podmanComposeBin(), ['--env-file', envFile, '-p', PROJECT, '-f', join(ROOT, 'docker-compose.yml'), ...args], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output: output.replace(/^.*unable to get systemd connection.*\n/gm, '') });
      });
    });

  const modelsStatus = (): ModelsStatus => {
    const result = podman(['exec', container('models'), 'curl', '-fsS', 'http://127.0.0.1:8081/status']);
    assert.equal(result.status, 0, result.stderr);
    const status = JSON.parse(result.stdout) as { components: Array<Record<string, unknown>> };
    return status.components.find((c) => c['name'] === 'local-models') as unknown as ModelsStatus;
  };

  before(async () => {
    ensureImages();
    writeFileSync(envFile, '');
    for (const name of ['LIVEKIT_PORT', 'LIVEKIT_RTC_TCP_PORT', 'AGENT_WEB_PORT', 'AGENT_OPS_PORT', 'SPEECH_PORT', 'SPEECH_WEB_PORT', 'SPEECH_OPS_PORT']) {
      ports[name] = await freeTcpPort();
    }
    ports['LIVEKIT_RTC_UDP_PORT'] = await freeUdpPort();
    env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      CONTAINERS_CONF,
      VO_IMAGE_TAG: VERSION,
      LIVEKIT_API_SECRET: SECRET,
      LEGACY_AUTH_TOKEN: TOKEN,
      TTS_VOICE: TEST_VOICE,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    // The `voices` volume, with the test voice in it (what `docker compose run --rm voices-cli download` does online).
    podmanOk(['volume', 'create', `${PROJECT}_voices`]);
    podmanOk([
      'run',
      '--rm',
      '--user',
      '0',
      '--entrypoint',
      'sh',
      '-v',
      `${PROJECT}_voices:/voices`,
      '-v',
      `${requireTestVoice()}:/src:ro`,
      IMAGE,
      '-c',
      `cp /src/${TEST_VOICE}.onnx /src/${TEST_VOICE}.onnx.json /voices/ && chown -R 10001:10001 /voices`,
    ]);
    recognizer = await startSttServer();
    const up = await compose(['up', '-d', '--no-build']);
    assert.equal(up.code, 0, up.output);
    // a service that never gets ready fails with the end of its log
    const ready = (service: (typeof SERVICES)[number], port: number | undefined) =>
      waitReady(`http://127.0.0.1:${port}/ready`, undefined, 240_000).catch((err: Error) => {
        const logs = podman(['logs', '--tail', '60', container(service)]);
        throw new Error(`${err.message}\n${service} log:\n${logs.stdout}${logs.stderr}`);
      });
    await ready('agent', ports['AGENT_OPS_PORT']);
    await ready('speech', ports['SPEECH_OPS_PORT']);
    const deadline = Date.now() + 240_000;
    while (podman(['healthcheck', 'run', container('models')]).status !== 0) {
      assert.ok(Date.now() < deadline, `models never became healthy:\n${podman(['logs', '--tail', '40', container('models')]).stderr}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  });

  after(async () => {
    for (const p of participants) await p.leave();
    if (process.env['VO_TEST_KEEP_CONTAINERS'] !== '1') {
      const down = await compose(['down', '-v', '-t', '5']);
      if (down.code !== 0) console.log(down.output);
      podman(['volume', 'rm', '-f', `${PROJECT}_voices`]);
    }
    await recognizer?.stop();
    await dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the four services hardened: read-only root, no capabilities, no-new-privileges, memory limit, non-root', () => {
    for (const service of SERVICES) {
      const name = container(service);
      const inspect = (format: string) => podmanOk(['inspect', '--format', format, name]);
      assert.equal(inspect('{{.State.Running}}'), 'true', `${name} runs`);
      assert.equal(inspect('{{.HostConfig.ReadonlyRootfs}}'), 'true', `${name}: read-only root`);
      assert.equal(inspect('{{json .EffectiveCaps}}'), 'null', `${name}: no capabilities`);
      assert.match(inspect('{{json .HostConfig.SecurityOpt}}'), /no-new-privileges/, `${name}: no-new-privileges`);
      assert.ok(Number(inspect('{{.HostConfig.Memory}}')) > 0, `${name}: memory limit`);
      // the main process as the host sees it (the LiveKit image has no shell or ps)
      const status = readFileSync(`/proc/${inspect('{{.State.Pid}}')}/status`, 'utf8');
      assert.doesNotMatch(status, /^Uid:\s+0\b/m, `${name}: the main process is not root`);
      assert.match(status, /^CapEff:\s+0+$/m, `${name}: no effective capabilities`);
      assert.match(status, /^NoNewPrivs:\s+1$/m, `${name}: no new privileges`);
    }
    // only LiveKit and the two orchestrators publish ports, all on 127.0.0.1
    assert.equal(podmanOk(['port', container('models')]), '');
    for (const service of ['livekit', 'agent', 'speech'] as const) {
      for (const line of podmanOk(['port', container(service)]).split('\n')) assert.match(line, /-> 127\.0\.0\.1:\d+$/, `${service}: ${line}`);
    }
  });

  it('both orchestrators answer a room each, through the one models service', async () => {
    const before = modelsStatus();
    const livekitUrl = `ws://127.0.0.1:${ports['LIVEKIT_PORT']}`;
    for (const [service, agentName, opsPort] of [
      ['agent', 'voice-assistant', ports['AGENT_OPS_PORT']],
      ['speech', 'voice-assistant-2', ports['SPEECH_OPS_PORT']],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${opsPort}/status`).catch((err: Error) => {
        const state = podman(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).stdout;
        throw new Error(
          `${service}: GET /status failed (${err.message}); containers:\n${state}\n--- ${service} log ---\n${(({ stdout, stderr }) => stdout + stderr)(podman(['logs', '--tail', '60', container(service)]))}`,
        );
      });
      const status = (await response.json()) as { components: Array<Record<string, Record<string, unknown>>> };
      const agent = status.components.find((c) => (c['name'] as unknown) === 'agent')!;
      assert.equal(agent['llm']?.['provider'], 'models:8091', `${service}: LLM from the models service`);
      assert.equal(agent['stt']?.['provider'], 'models:8092', `${service}: STT from the models service`);
      assert.equal(
        status.components.find((c) => (c['name'] as unknown) === 'local-models'),
        undefined,
        `${service} loads no models of its own`,
      );

      const participant = await TestParticipant.join({
        url: livekitUrl,
        apiKey: 'orchestrator',
        apiSecret: SECRET,
        room: `compose-${service}-${Date.now()}`,
        agentName,
      });
      participants.push(participant);
      assert.equal(await greeted(participant, performance.now() - 1000), GREETING, `${service} greets`);
      const turn = await ask(participant, 'What is the capital of France?', `compose-${service}`, whisper);
      console.log(`${service}: user "${turn.user}", agent "${turn.answer}", heard "${turn.heard}"`);
      assert.match(turn.answer, /paris/i, `${service} answered "${turn.answer}"`);
      assert.ok(wordAccuracy(turn.answer, turn.heard) >= 0.6, `${service} said "${turn.answer}", heard "${turn.heard}"`);
      await participant.leave();
    }
    // the models service reports each model server's counters as of its last health check (every 5 s)
    let afterTurns = modelsStatus();
    const counted = () => afterTurns.llm.requests >= before.llm.requests + 2 && afterTurns.stt.requests >= before.stt.requests + 2;
    for (const end = Date.now() + 20_000; !counted() && Date.now() < end; afterTurns = modelsStatus()) await new Promise((r) => setTimeout(r, 1000));
    assert.ok(afterTurns.llm.requests >= before.llm.requests + 2, `LLM requests ${before.llm.requests} -> ${afterTurns.llm.requests}`);
    assert.ok(afterTurns.stt.requests >= before.stt.requests + 2, `STT requests ${before.stt.requests} -> ${afterTurns.stt.requests}`);
  });

  it('the speech service speaks over the legacy WebSocket on its own port, with its token only', async () => {
    const url = `ws://127.0.0.1:${ports['SPEECH_PORT']}`;
    const refused = await LegacyClient.connect(url).then(
      () => 'connected',
      (err: Error & { status?: number }) => String(err.status),
    );
    assert.equal(refused, '401');
    const client = await LegacyClient.connect(url, { token: TOKEN });
    try {
      client.say(TEXT);
      const end = await client.waitFor((m) => m.type === 'session_end', 60_000);
      assert.equal(end['reason'], 'completed');
      const heard = await hear(
        client.frames.map((f) => new Int16Array(Uint8Array.from(f.pcm).buffer)),
        48_000,
        'compose-speech',
      );
      assert.ok(wordAccuracy(TEXT, heard) >= 0.7, `said "${TEXT}", pocketsphinx heard "${heard}"`);
    } finally {
      client.terminate();
    }
  });

  it('`podman-compose stop` drains: every orchestrator exits 0 within its stop_grace_period', async () => {
    const started = performance.now();
    const stop = await compose(['stop']);
    assert.equal(stop.code, 0, stop.output);
    const ms = performance.now() - started;
    console.log(`podman-compose stop: ${ms.toFixed(0)} ms`);
    for (const service of ['models', 'agent', 'speech'] as const) {
      const code = podmanOk(['inspect', '--format', '{{.State.ExitCode}}', container(service)]);
      assert.equal(code, '0', `${service} exit code ${code} (137 = killed at the end of the grace period)`);
    }
    assert.ok(ms < 20_000 + 10_000, `stopped in ${ms} ms`);
  });
});
