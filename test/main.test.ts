/** The entrypoint as a real child process: mode validation, first log line, readiness, signal handling. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, PROJECT_ROOT } from '../src/config/load.js';
import type { Mode } from '../src/config/schema.js';
import { composeComponents } from '../src/modes.js';
import { createLogger } from '../src/ops/logger.js';
import { createMetricsRegistry } from '../src/ops/metrics.js';
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
      WYOMING_PORT: String(await freeTcpPort()),
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
    .map((l) => JSON.parse(l) as { msg: string; mode?: string; level: number; time: number; component?: string });

/**
 * How long the legacy server took to drain, by the process's own clock: from the log line that
 * starts the shutdown to the one saying the legacy component stopped (start-up and exit not included).
 */
function legacyDrainMs(proc: PeerProcess): number {
  const lines = logLines(proc);
  const started = lines.find((l) => l.msg.startsWith('shutting down'));
  const stopped = lines.find((l) => l.msg === 'component stopped' && l.component === 'legacy');
  assert.ok(started && stopped, `shutdown not logged:\n${proc.output()}`);
  return stopped.time - started.time;
}

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
    assert.match(lines[0] ?? '', /ORCHESTRATOR_MODE="turbo".*one of agent, legacy, hybrid, models/);
  });

  test('legacy mode: the first log line states the mode, /ready turns 200, SIGTERM drains and exits 0', async () => {
    const { proc, healthPort } = await startLegacy();
    try {
      const first = logLines(proc)[0];
      assert.equal(first?.mode, 'legacy');
      assert.match(first?.msg ?? '', /legacy mode/);
      const status = (await (await fetch(`http://127.0.0.1:${healthPort}/status`)).json()) as { mode: string; components: Array<{ name: string }> };
      assert.equal(status.mode, 'legacy');
      assert.deepEqual(
        status.components.map((c) => c.name),
        ['tts', 'legacy', 'wyoming'],
      );
      proc.signal('SIGTERM');
      assert.ok(await proc.exitsWithin(20_000), 'exited after SIGTERM');
      assert.deepEqual(await proc.exited, { code: 0, signal: null });
      assert.ok(
        logLines(proc).some((l) => l.msg === 'stopped'),
        proc.output(),
      );
      // nothing in flight: the drain does not sit out SHUTDOWN_TIMEOUT_MS (default 10 s)
      const drainMs = legacyDrainMs(proc);
      assert.ok(drainMs < 5000, `an idle server took ${drainMs} ms to drain`);
    } finally {
      await proc.stop();
    }
  });

  test('a stuck client is waited for until SHUTDOWN_TIMEOUT_MS and no longer (two timeouts), then the process exits 0', async (t) => {
    // A client that never answers the close frame is also cut by the session itself after a 1 s
    // close grace (src/legacy/session.ts, CLOSE_GRACE_MS): both timeouts are below it, so what
    // ends each drain here is SHUTDOWN_TIMEOUT_MS.
    const SHORT = 200;
    const LONG = 900;
    const drains: Record<number, number> = {};
    for (const timeoutMs of [SHORT, LONG]) {
      const { proc, legacyPort } = await startLegacy({ SHUTDOWN_TIMEOUT_MS: String(timeoutMs), TTS_WARMUP: 'false' });
      const stuck = await stuckWebSocketClient(legacyPort);
      try {
        const sent = performance.now();
        proc.signal('SIGTERM');
        assert.ok(await proc.exitsWithin(15_000), 'exited');
        const took = performance.now() - sent;
        assert.deepEqual(await proc.exited, { code: 0, signal: null });
        drains[timeoutMs] = legacyDrainMs(proc);
        // waited for the stuck client until the deadline (timers never fire early; 50 ms for the log call)
        assert.ok(drains[timeoutMs]! >= timeoutMs - 50, `SHUTDOWN_TIMEOUT_MS=${timeoutMs}: drain took only ${drains[timeoutMs]} ms`);
        assert.ok(took >= timeoutMs - 50, `SHUTDOWN_TIMEOUT_MS=${timeoutMs}: exited after only ${took.toFixed(0)} ms`);
      } finally {
        stuck.destroy();
        await proc.stop();
      }
    }
    t.diagnostic(`legacy drain with a stuck client: ${SHORT} ms timeout -> ${drains[SHORT]} ms, ${LONG} ms timeout -> ${drains[LONG]} ms`);
    // and no longer: with the short timeout the drain ended before the long one would have
    // (a server that ignored the timeout would have waited for the client's 1 s close grace)
    assert.ok(drains[SHORT]! < LONG, `SHUTDOWN_TIMEOUT_MS=${SHORT}: drain took ${drains[SHORT]} ms`);
    assert.ok(drains[SHORT]! < drains[LONG]!, `drains ${JSON.stringify(drains)}`);
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

describe('what each mode composes (created, not started)', () => {
  async function names(mode: Mode, env: Record<string, string> = {}): Promise<string[]> {
    // An empty folder, so a developer's .env cannot change what the test sees.
    const dir = mkdtempSync(join(tmpdir(), 'vo-modes-'));
    try {
      const { config } = loadConfig({ dir, env: { ORCHESTRATOR_MODE: mode, LOG_LEVEL: 'silent', ...env } });
      const components = await composeComponents(mode, { config, logger: createLogger(config), metrics: createMetricsRegistry(mode) });
      return components.map((c) => c.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const remote = { LLM_BASE_URL: 'http://127.0.0.1:9/v1', STT_BASE_URL: 'http://127.0.0.1:9/v1' };

  test('agent mode loads the one Piper engine in the main process; its job processes speak through it', async () => {
    assert.deepEqual(await names('agent', remote), ['tts', 'agent', 'web']);
  });

  test('with no provider configured, agent and hybrid modes first start the local models; models mode runs only them', async () => {
    assert.deepEqual(await names('agent'), ['local-models', 'tts', 'agent', 'web']);
    assert.deepEqual(await names('hybrid'), ['local-models', 'tts', 'legacy', 'wyoming', 'agent', 'web']);
    assert.deepEqual(await names('models'), ['local-models']);
    assert.deepEqual(await names('agent', { LLM_PROVIDER: 'none', STT_PROVIDER: 'none' }), ['tts', 'agent', 'web']);
    assert.deepEqual(await names('legacy'), ['tts', 'legacy', 'wyoming']);
  });

  test('WEB_ENABLED=false: agent mode runs the worker only, no web server; hybrid keeps the rest', async () => {
    assert.deepEqual(await names('agent', { WEB_ENABLED: 'false', ...remote }), ['tts', 'agent']);
    assert.deepEqual(await names('hybrid', { WEB_ENABLED: 'false', ...remote }), ['tts', 'legacy', 'wyoming', 'agent']);
  });

  test('legacy mode has the engine, the speech server and Wyoming (unless WYOMING_ENABLED=false); hybrid has everything', async () => {
    assert.deepEqual(await names('legacy'), ['tts', 'legacy', 'wyoming']);
    assert.deepEqual(await names('legacy', { WYOMING_ENABLED: 'false' }), ['tts', 'legacy']);
    assert.deepEqual(await names('hybrid', remote), ['tts', 'legacy', 'wyoming', 'agent', 'web']);
  });
});
