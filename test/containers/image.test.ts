/**
 * The service image built from docker/Dockerfile, run with podman: non-root, read-only root filesystem,
 * no capabilities; the image's own health check passes; legacy mode speaks from the container to a
 * WebSocket client on the host, intelligibly to an offline recognizer; SIGTERM drains within the grace period.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LegacyClient } from '../../src/legacy/client.js';
import { freeTcpPort } from '../support/ports.js';
import { TEST_VOICE, requireTestVoice } from '../support/voices.js';
import { wordAccuracy } from '../support/word-accuracy.js';
import { Container, ensureImages, HARDENED, hear, IMAGE, podmanOk, VERSION, waitReady } from './support.js';

const TEXT = 'The weather is nice today. Please open the door for me. We are going to the store tomorrow.';
const LONG_TEXT = Array.from({ length: 20 }, (_, i) => `This is sentence number ${i + 1} of a long reading that keeps the voice busy.`).join(' ');
const SHUTDOWN_TIMEOUT_MS = 8000;
const GRACE_SECONDS = 20;
const TOKEN = `container-test-token-${process.pid}`;

describe(`the service image (${IMAGE}) in legacy mode`, { timeout: 60 * 60_000 }, () => {
  const container = new Container('legacy');
  let wsUrl = '';
  let opsUrl = '';

  before(async () => {
    ensureImages();
    const [legacyPort, healthPort] = [await freeTcpPort(), await freeTcpPort()];
    wsUrl = `ws://127.0.0.1:${legacyPort}`;
    opsUrl = `http://127.0.0.1:${healthPort}`;
    container.start(IMAGE, [
      ...HARDENED,
      '--memory',
      '1g',
      '--volume',
      `${requireTestVoice()}:/voices:ro`,
      '--env',
      'ORCHESTRATOR_MODE=legacy',
      '--env',
      `TTS_VOICE=${TEST_VOICE}`,
      // host networking: every port on loopback only
      '--env',
      'LEGACY_HOST=127.0.0.1',
      '--env',
      'HEALTH_HOST=127.0.0.1',
      '--env',
      `LEGACY_PORT=${legacyPort}`,
      '--env',
      `HEALTH_PORT=${healthPort}`,
      '--env',
      `LEGACY_AUTH_TOKEN=${TOKEN}`,
      '--env',
      `SHUTDOWN_TIMEOUT_MS=${SHUTDOWN_TIMEOUT_MS}`,
    ]);
    await waitReady(`${opsUrl}/ready`, container, 120_000);
  });

  after(() => container.remove());

  it('is tagged with the package version, keeps its HEALTHCHECK and reports its size', () => {
    const size = Number(podmanOk(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    console.log(`image ${IMAGE}: ${(size / 1e6).toFixed(0)} MB`);
    assert.ok(size > 0);
    assert.match(IMAGE, new RegExp(`:${VERSION.replace(/\./g, '\\.')}$`));
    const health = podmanOk(['image', 'inspect', '--format', '{{json .Config.Healthcheck}}', IMAGE]);
    assert.match(health, /\/ready/, 'the image carries the /ready health check');
  });

  it('runs as a non-root user with a read-only root filesystem and no capabilities', () => {
    assert.equal(container.inspect('{{.Config.User}}'), '10001:10001');
    const ids = container.exec(['id', '-u']);
    assert.equal(ids.stdout.trim(), '10001', ids.stderr);
    assert.equal(container.inspect('{{.HostConfig.ReadonlyRootfs}}'), 'true');
    for (const path of ['/app/src/main.ts', '/app/x', '/models/x', '/usr/local/bin/x']) {
      const write = container.exec(['sh', '-c', `echo x >> ${path}`]);
      assert.notEqual(write.status, 0, `${path} must not be writable`);
      assert.match(write.stderr, /Read-only file system|Permission denied/);
    }
    assert.equal(container.inspect('{{json .EffectiveCaps}}'), 'null');
    const status = container.exec(['cat', '/proc/1/status']).stdout;
    assert.match(status, /^CapEff:\s+0+$/m, 'the service process has no effective capabilities');
    assert.match(status, /^NoNewPrivs:\s+1$/m);
  });

  it("passes the image's own health check (podman healthcheck run)", () => {
    // podman runs health checks on a systemd timer, absent here: run it by hand.
    assert.equal(podmanOk(['healthcheck', 'run', container.name]), '');
    assert.equal(container.inspect('{{.State.Health.Status}}'), 'healthy');
  });

  it('speaks to a WebSocket client on the host, intelligibly', async () => {
    const refused = await LegacyClient.connect(wsUrl).then(
      () => 'connected',
      (err: Error & { status?: number }) => String(err.status),
    );
    assert.equal(refused, '401', 'no token, no session');
    const client = await LegacyClient.connect(wsUrl, { token: TOKEN });
    try {
      client.say(TEXT);
      const end = await client.waitFor((m) => m.type === 'session_end', 60_000);
      assert.equal(end['reason'], 'completed');
      assert.ok(client.frames.length > 50, `frames: ${client.frames.length}`);
      const pcm = client.frames.map((f) => new Int16Array(Uint8Array.from(f.pcm).buffer));
      const heard = await hear(pcm, 48_000, 'legacy');
      const accuracy = wordAccuracy(TEXT, heard);
      console.log(`said "${TEXT}"; pocketsphinx heard "${heard}" (word accuracy ${(accuracy * 100).toFixed(0)} %)`);
      assert.ok(accuracy >= 0.7, `word accuracy ${(accuracy * 100).toFixed(0)} % < 70 %: heard "${heard}"`);
    } finally {
      client.terminate();
    }
  });

  it('drains on SIGTERM within the grace period: the session ends with `shutdown`, the process exits 0', async () => {
    const client = await LegacyClient.connect(wsUrl, { token: TOKEN });
    try {
      client.say(LONG_TEXT);
      await client.waitFor((m) => m.type === 'audio', 30_000);
      const { ms, exitCode } = await container.stop(GRACE_SECONDS);
      console.log(`podman stop: ${ms.toFixed(0)} ms, exit code ${exitCode}`);
      assert.equal(exitCode, 0, `exit code ${exitCode} (137 = killed at the end of the grace period)\n${container.logs()}`);
      assert.ok(ms < SHUTDOWN_TIMEOUT_MS + 3000, `stopped in ${ms} ms, beyond SHUTDOWN_TIMEOUT_MS`);
      await client.closed(10_000);
      const end = client.messages.find((m) => m.type === 'session_end');
      assert.equal(end?.['reason'], 'shutdown', JSON.stringify(client.messages.slice(-3)));
      assert.equal(client.closeInfo?.code, 1001);
      assert.match(container.logs(), /shutting down: draining work in flight[\s\S]*"stopped"/);
    } finally {
      client.terminate();
    }
  });
});
