import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import { loadConfig, PROJECT_ROOT } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { BUNDLE_FILES } from '../../src/web/bundle.js';
import { createWebComponent, type WebComponent } from '../../src/web/index.js';
import { RateLimiter } from '../../src/ops/rate-limit.js';
import { startWeb } from '../support/web.js';

const ENV = { LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'component-test-secret-0123456789' };

interface Running {
  web: WebComponent;
  registry: Registry;
  base: string;
  logs: Array<{ level: number; msg: string }>;
  /** The configured assistant (AGENT_NAME). */
  agentName: string;
  stop(): Promise<void>;
}

/** A real web component on an ephemeral loopback port, serving the page in `bundleDir`, with its own registry. */
async function start(bundleDir: string): Promise<Running> {
  const envDir = await mkdtemp(join(tmpdir(), 'vo-web-env-'));
  const { config } = loadConfig({ dir: envDir, env: { WEB_HOST: '127.0.0.1', WEB_PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...ENV } });
  await rm(envDir, { recursive: true, force: true });
  const logs: Running['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Running['logs'][number]);
      done();
    },
  });
  const registry = createMetricsRegistry('agent');
  const web = createWebComponent({ config, logger: createLogger(config, sink), metrics: registry, bundleDir });
  await web.start();
  return { web, registry, logs, agentName: config.AGENT_NAME, base: `http://127.0.0.1:${web.address()?.port}`, stop: () => web.stop(Date.now() + 2000) };
}

describe('web component: serves the page built at set-up, never builds it', () => {
  /** Temporary folders this suite made (each holds one bundle folder `web`); removed after. */
  const made: string[] = [];
  const emptyDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vo-web-bundle-'));
    made.push(dir);
    return join(dir, 'web');
  };
  /** A stand-in for what `npm run build:web` writes: every bundle file, small. */
  const builtDir = async (omit: readonly string[] = []) => {
    const dir = await emptyDir();
    await mkdir(dir, { recursive: true });
    for (const name of BUNDLE_FILES.filter((n) => !omit.includes(n))) {
      const body = name === 'index.html' ? '<!doctype html><title>Voice assistant</title><script type="module" src="app.js"></script>' : `/* ${name} */`;
      await writeFile(join(dir, name), body);
    }
    return dir;
  };
  after(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  test('with the page built: serves it as found, ready, /status says page', async () => {
    const dir = await builtDir();
    const server = await start(dir);
    try {
      assert.deepEqual(server.web.health(), { ready: true, detail: 'listening' });
      const page = await fetch(`${server.base}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Voice assistant/);
      assert.equal(await (await fetch(`${server.base}/app.js`)).text(), '/* app.js */', 'the file on disk, not a fresh build');
      const status = server.web.status?.() ?? {};
      assert.equal(status['page'], true);
      assert.equal(status['page_problem'], undefined);
      assert.ok(!server.logs.some((l) => l.level >= 50), JSON.stringify(server.logs));
      assert.deepEqual(readdirSync(dir).sort(), [...BUNDLE_FILES].sort(), 'nothing was written to the bundle folder');
    } finally {
      await server.stop();
    }
  });

  test('without a page: still ready (the token endpoint works); /status, the log and the page name `npm run build:web`', async () => {
    const dir = await emptyDir();
    const server = await start(dir);
    try {
      const health = server.web.health();
      assert.equal(health.ready, true);
      assert.match(health.detail ?? '', /without the page.*npm run build:web/);
      const status = server.web.status?.() ?? {};
      assert.equal(status['page'], false);
      assert.match(String(status['page_problem']), /index\.html, app\.js, app\.js\.map, styles\.css, favicon\.svg missing .*npm run build:web/);
      const logged = server.logs.find((l) => l.level === 50);
      assert.match(logged?.msg ?? '', /web page is not built.*npm run build:web/);
      const page = await fetch(`${server.base}/`);
      assert.equal(page.status, 503);
      assert.match(await page.text(), /npm run build:web/);
      assert.equal((await fetch(`${server.base}/api/token`, { method: 'POST' })).status, 200);
      assert.equal(existsSync(dir), false, 'nothing was built');
    } finally {
      await server.stop();
    }
  });

  test('a partly built page counts as missing, naming the file that is absent', async () => {
    const server = await start(await builtDir(['app.js.map']));
    try {
      const status = server.web.status?.() ?? {};
      assert.equal(status['page'], false);
      assert.match(String(status['page_problem']), /: app\.js\.map missing from /);
      assert.equal((await fetch(`${server.base}/`)).status, 503);
    } finally {
      await server.stop();
    }
  });

  test("the token counts in /status are prom-client's own values, the same as /metrics", async () => {
    const server = await start(await builtDir());
    try {
      const post = (body?: string) =>
        fetch(`${server.base}/api/token`, { method: 'POST', ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
      assert.equal((await post()).status, 200);
      assert.equal((await post('{}')).status, 200);
      assert.equal((await post('{not json')).status, 400);
      assert.deepEqual(server.web.status?.()['tokens'], { issued: 2, bad_request: 1, rate_limited: 0, unavailable: 0, error: 0 });
      const text = await server.registry.metrics();
      // by assistant once the request named a configured one (here the only one, AGENT_NAME's default)
      assert.match(text, new RegExp(`web_token_requests_total\\{result="issued",assistant="${server.agentName}",mode="agent"\\} 2`));
      assert.match(text, /web_token_requests_total\{result="bad_request",assistant="",mode="agent"\} 1/);
    } finally {
      await server.stop();
    }
  });

  test('stops listening on stop() and reports not ready', async () => {
    const server = await startWeb(ENV);
    const { port } = server.web.address() ?? { port: 0 };
    await server.stop();
    assert.equal(server.web.health().ready, false);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
  });

  test('the service cannot build the page: no module under src/ (the browser client aside) imports a dev dependency', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const dev = new Set(Object.keys(pkg.devDependencies));
    const client = join(PROJECT_ROOT, 'src', 'web', 'client');
    const offences: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (path !== client) walk(path);
        } else if (entry.name.endsWith('.ts')) {
          for (const m of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'".][^'"]*)['"]/g)) {
            const spec = m[1] ?? '';
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? '');
            if (dev.has(name)) offences.push(`${relative(PROJECT_ROOT, path)} imports ${spec}`);
          }
        }
      }
    };
    walk(join(PROJECT_ROOT, 'src'));
    assert.deepEqual(offences, []);
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
