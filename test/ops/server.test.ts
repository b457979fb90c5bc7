import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Counter } from 'prom-client';
import { App } from '../../src/app.js';
import type { Component } from '../../src/component.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { OpsServer } from '../../src/ops/server.js';

class ToggleComponent implements Component {
  isReady = false;
  constructor(readonly name: string) {}
  async start() {}
  async stop() {}
  health() {
    return this.isReady ? { ready: true } : { ready: false, detail: 'voice loading' };
  }
  status() {
    return { sessions_active: 2 };
  }
}

describe('ops server', () => {
  const tts = new ToggleComponent('tts');
  const legacy = new ToggleComponent('legacy');
  const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });
  const metrics = createMetricsRegistry('legacy');
  const app = new App('legacy', '9.9.9', [tts, legacy], logger);
  const ops = new OpsServer({ host: '127.0.0.1', port: 0, app, metrics, logger });
  let base = '';

  before(async () => {
    new Counter({ name: 'orchestrator_test_total', help: 'test counter', registers: [metrics] }).inc();
    await ops.start();
    await app.start();
    base = `http://127.0.0.1:${ops.address()?.port}`;
  });
  after(async () => {
    await app.stop(Date.now() + 1000);
    await ops.stop();
  });

  test('GET /health answers 200 while the process lives', async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });

  test('GET /ready is 503 listing what is not ready, then 200 when every component is', async () => {
    tts.isReady = true;
    legacy.isReady = false;
    let res = await fetch(`${base}/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { not_ready: string[]; checks: Array<{ name: string; detail?: string }> };
    assert.deepEqual(body.not_ready, ['legacy']);
    assert.equal(body.checks.find((c) => c.name === 'legacy')?.detail, 'voice loading');
    legacy.isReady = true;
    res = await fetch(`${base}/ready`);
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${base}/readiness`)).status, 200, 'old path /readiness');
  });

  test('GET /metrics is Prometheus text with process metrics and the mode label', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /process_cpu_user_seconds_total\{mode="legacy"\}/);
    assert.match(text, /orchestrator_test_total\{mode="legacy"\} 1/);
  });

  test('GET /status has mode, version, uptime and each component with its state and counters', async () => {
    const body = (await (await fetch(`${base}/status`)).json()) as Record<string, unknown> & { components: Array<Record<string, unknown>> };
    assert.equal(body.mode, 'legacy');
    assert.equal(body.version, '9.9.9');
    assert.equal(typeof body.uptime_seconds, 'number');
    assert.deepEqual(
      body.components.map((c) => [c.name, c.state, c.sessions_active]),
      [
        ['tts', 'running', 2],
        ['legacy', 'running', 2],
      ],
    );
  });

  test('old system paths /liveness and /metrics/summary answer', async () => {
    const live = (await (await fetch(`${base}/liveness`)).json()) as { status: string };
    assert.equal(live.status, 'alive');
    const summary = await fetch(`${base}/metrics/summary`);
    assert.equal(summary.status, 200);
    assert.ok(Array.isArray(((await summary.json()) as { components: unknown[] }).components));
  });

  test('unknown paths are 404 and wrong methods 405', async () => {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    const res = await fetch(`${base}/health`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});
