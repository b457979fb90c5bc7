import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BUNDLE_FILES, bundleState, CLIENT_SOURCE_DIR } from '../../src/web/bundle.js';
import { RateLimiter } from '../../src/web/rate-limit.js';
import { startWeb } from '../support/web.js';

const ENV = { LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'component-test-secret-0123456789' };

describe('web component start-up', () => {
  const dirs: string[] = [];
  const freshDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vo-web-bundle-'));
    dirs.push(dir);
    return join(dir, 'web');
  };
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('builds the page at start when the bundle is missing, then serves it and reports ready', async () => {
    const bundleDir = await freshDir();
    assert.equal((await bundleState(bundleDir)).present, false);
    const server = await startWeb(ENV, { bundleDir });
    try {
      for (const file of BUNDLE_FILES) assert.ok((await stat(join(bundleDir, file))).size > 0, `${file} built`);
      assert.deepEqual(server.web.health(), { ready: true, detail: 'listening' });
      const page = await fetch(`${server.baseUrl}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Voice assistant/);
      assert.ok(server.logs.join('').includes('web page built'));
    } finally {
      await server.stop();
    }
  });

  test('without a bundle and without building, the page answers 503 with what to run while tokens still work', async () => {
    const bundleDir = await freshDir();
    const server = await startWeb(ENV, { bundleDir, buildIfNeeded: false });
    try {
      const health = server.web.health();
      assert.equal(health.ready, false);
      assert.match(health.detail ?? '', /npm run build:web/);
      const page = await fetch(`${server.baseUrl}/`);
      assert.equal(page.status, 503);
      assert.match(await page.text(), /npm run build:web/);
      assert.equal((await fetch(`${server.baseUrl}/api/token`, { method: 'POST' })).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('a bundle older than its sources counts as stale', async () => {
    const bundleDir = await freshDir();
    const first = await startWeb(ENV, { bundleDir });
    await first.stop();
    assert.deepEqual(await bundleState(bundleDir), { present: true, stale: false });
    const old = new Date(Date.now() - 3_600_000);
    for (const file of BUNDLE_FILES) await utimes(join(bundleDir, file), old, old);
    const sourcesNewer = (await stat(join(CLIENT_SOURCE_DIR, 'main.ts'))).mtimeMs > old.getTime();
    assert.equal((await bundleState(bundleDir)).stale, sourcesNewer);
  });

  test('stops listening on stop() and reports not ready', async () => {
    const server = await startWeb(ENV);
    const { port } = server.web.address() ?? { port: 0 };
    await server.stop();
    assert.equal(server.web.health().ready, false);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  });
});

describe('RateLimiter', () => {
  test('allows a burst of the per-minute budget, then refills evenly over the minute', () => {
    let now = 0;
    const limiter = new RateLimiter(6, () => now);
    for (let i = 0; i < 6; i++) assert.equal(limiter.take('a'), 0);
    assert.equal(limiter.take('a'), 10, 'one request per 10 s comes back');
    assert.equal(limiter.take('b'), 0, 'other clients have their own budget');
    now += 10_000;
    assert.equal(limiter.take('a'), 0);
    assert.ok(limiter.take('a') > 0);
  });

  test('forgets clients whose budget is full again once it tracks too many', () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now, 10);
    for (let i = 0; i < 11; i++) limiter.take(`client-${i}`);
    now += 60_000;
    limiter.take('late');
    assert.ok(limiter.size <= 2, `size ${limiter.size}`);
  });
});
