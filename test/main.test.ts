/** The entrypoint as a real child process: mode validation, first log line, readiness, signal handling. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from '../src/config/load.js';
import { peerCacheDir } from './support/cache.js';
import { httpOk, PeerProcess, waitUntilReady } from './support/child-process.js';
import { freeTcpPort } from './support/ports.js';

const MAIN = join(PROJECT_ROOT, 'src/main.ts');
const voicesDir = process.env['VO_TEST_VOICES_DIR'] ?? join(peerCacheDir(), 'voices');

async function startLegacy(extraEnv: Record<string, string> = {}) {
  const [healthPort, legacyPort] = [await freeTcpPort(), await freeTcpPort()];
  const proc = new PeerProcess({
    name: 'orchestrator',
    command: process.execPath,
    args: ['--import', 'tsx', MAIN],
    cwd: PROJECT_ROOT,
    keepLines: 400,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ORCHESTRATOR_MODE: 'legacy',
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: String(healthPort),
      LEGACY_HOST: '127.0.0.1',
      LEGACY_PORT: String(legacyPort),
      VOICES_DIR: voicesDir,
      TTS_VOICE: 'en_US-joe-medium',
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
  });
  await waitUntilReady(proc, () => httpOk(`http://127.0.0.1:${healthPort}/ready`), 60_000, 'ready');
  return { proc, healthPort, legacyPort };
}

/** A client that completes the WebSocket upgrade and then never answers anything, not even a close frame. */
function stuckWebSocketClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.once('data', (d) => (String(d).startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(String(d)))));
    socket.once('error', reject);
  });
}

const logLines = (proc: PeerProcess) =>
  proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; mode?: string; level: number });

describe('entrypoint (real child process)', () => {
  test('an unknown ORCHESTRATOR_MODE exits non-zero with one line naming the value and the valid modes', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ORCHESTRATOR_MODE: 'turbo' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0);
    assert.equal(result.stdout, '', 'nothing started, nothing logged');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /ORCHESTRATOR_MODE="turbo".*one of agent, legacy, hybrid/);
  });

  test('legacy mode: the first log line states the mode, /ready turns 200, SIGTERM drains and exits 0', async () => {
    const { proc, healthPort } = await startLegacy();
    try {
      const first = logLines(proc)[0];
      assert.equal(first?.mode, 'legacy');
      assert.match(first?.msg ?? '', /legacy mode/);
      const status = (await (await fetch(`http://127.0.0.1:${healthPort}/status`)).json()) as { mode: string; components: Array<{ name: string }> };
      assert.equal(status.mode, 'legacy');
      assert.deepEqual(status.components.map((c) => c.name), ['tts', 'legacy']);
      proc.signal('SIGTERM');
      assert.ok(await proc.exitsWithin(20_000), 'exited after SIGTERM');
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      assert.ok(logLines(proc).some((l) => l.msg === 'stopped'), proc.output());
    } finally {
      await proc.stop();
    }
  });

  test('work in flight gets until SHUTDOWN_TIMEOUT_MS, then the process exits 0 anyway', async () => {
    const { proc, legacyPort } = await startLegacy({ SHUTDOWN_TIMEOUT_MS: '1500' });
    const stuck = await stuckWebSocketClient(legacyPort);
    try {
      const sent = Date.now();
      proc.signal('SIGTERM');
      assert.ok(await proc.exitsWithin(15_000), 'exited');
      const took = Date.now() - sent;
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      assert.ok(took >= 1000, `waited for the stuck client until the deadline (took ${took} ms)`);
    } finally {
      stuck.destroy();
      await proc.stop();
    }
  });

  test('a second signal exits at once, without waiting for the drain', async () => {
    const { proc, legacyPort } = await startLegacy({ SHUTDOWN_TIMEOUT_MS: '60000' });
    const stuck = await stuckWebSocketClient(legacyPort);
    try {
      proc.signal('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(proc.running, 'still draining after the first signal');
      proc.signal('SIGINT');
      assert.ok(await proc.exitsWithin(5_000), 'the second signal ended it at once');
      assert.notEqual((await proc.exited).code, 0);
    } finally {
      stuck.destroy();
      await proc.stop();
    }
  });
});
