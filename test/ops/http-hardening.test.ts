/**
 * No client input can stop or crash the plain-HTTP ports: raw sockets send malformed HTTP at a real
 * ops server and a real web server; every one gets a 4xx and a closed socket, and the server still
 * answers a fresh request afterwards.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Gauge } from 'prom-client';
import { App } from '../../src/app.js';
import type { Component } from '../../src/component.js';
import { createRequestHandler } from '../../src/web/http-handler.js';
import { RateLimiter } from '../../src/ops/rate-limit.js';
import { startWeb, type RunningWeb } from '../support/web.js';
import { hardenHttpServer, listen, requestPath, safeHandler } from '../../src/ops/http-listen.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { OpsServer } from '../../src/ops/server.js';

interface RawResult {
  status: number | undefined;
  raw: string;
  closed: boolean;
}

/** Sends bytes on a fresh connection; resolves with the first status code once the server closes (or after `waitMs`). */
function rawRequest(port: number, payload: string | Buffer, waitMs = 5000): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: match ? Number(match[1]) : undefined, raw, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => {
      raw += d.toString('latin1');
    });
    socket.on('close', () => finish(true));
    // A reset after the answer still counts as closed; the answer was read before.
    socket.on('error', () => finish(true));
    socket.on('connect', () => socket.write(payload));
  });
}

const H = 'Host: test\r\n';
/** [what, bytes, accepted statuses] — everything must end in a 4xx and a closed socket. */
const MALFORMED: Array<[string, string | Buffer, number[]]> = [
  ['GET // (empty authority in origin-form)', `GET // HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, [400, 404]],
  ['absolute-form garbage http://[', `GET http://[ HTTP/1.1\r\n${H}\r\n`, [400]],
  ['absolute-form with a bad port', `GET http://x:99999/health HTTP/1.1\r\n${H}\r\n`, [400]],
  ['a non-http scheme', `GET ftp://x/health HTTP/1.1\r\n${H}\r\n`, [400]],
  ['asterisk-form', `OPTIONS * HTTP/1.1\r\n${H}\r\n`, [400]],
  ['a header line without a colon', `GET /health HTTP/1.1\r\n${H}Bad Header\r\n\r\n`, [400]],
  ['a control byte in a header value', `GET /health HTTP/1.1\r\n${H}X-A: a\u0001b\r\n\r\n`, [400]],
  ['a header name with a space', `GET /health HTTP/1.1\r\n${H}X A: b\r\n\r\n`, [400]],
  ['huge headers', `GET /health HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(40_000)}\r\n\r\n`, [431]],
  ['an unknown method', `FOO /health HTTP/1.1\r\n${H}\r\n`, [400]],
  ['a lower-case method', `get /health HTTP/1.1\r\n${H}\r\n`, [400]],
  ['a bad HTTP version', `GET /health HTTP/7.3\r\n${H}\r\n`, [400, 505]],
  ['binary garbage', Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]), [400]],
  ['no Host header in HTTP/1.1', 'GET /health HTTP/1.1\r\n\r\n', [400]],
  ['Content-Length and Transfer-Encoding together', `POST /health HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, [400]],
  ['two different Content-Length headers', `POST /health HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, [400]],
  ['a broken chunked body', `POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, [400, 405]],
  ['CONNECT', `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`, [405]],
  [
    'an upgrade with a bad target',
    `GET http://[ HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    [400],
  ],
  [
    'an upgrade to a real path',
    `GET /health HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    [400],
  ],
  ['an h2c upgrade', `GET / HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`, [400]],
  ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', [400, 505]],
];

function malformedSuite(name: string, port: () => number, fresh: () => Promise<void>) {
  for (const [what, payload, statuses] of MALFORMED) {
    test(`${name}: ${what} gets a 4xx and the socket is closed; the server still answers`, async () => {
      const result = await rawRequest(port(), payload);
      assert.ok(
        result.status !== undefined && statuses.includes(result.status),
        `expected ${statuses.join('/')} for ${what}, got: ${JSON.stringify(result.raw.slice(0, 200))}`,
      );
      assert.ok(result.closed, 'the server closed the socket');
      await fresh();
    });
  }
}

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

describe('ops server under malformed HTTP', () => {
  const component: Component = { name: 'tts', start: async () => {}, stop: async () => {}, health: () => ({ ready: true }) };
  const metrics = createMetricsRegistry('legacy');
  const app = new App('legacy', '0.0.0', [component], logger);
  const ops = new OpsServer({ host: '127.0.0.1', port: 0, app, metrics, logger });
  let port = 0;
  let brokenCollector = false;
  before(async () => {
    new Gauge({
      name: 'test_collector_that_can_throw',
      help: 'throws while brokenCollector is set',
      registers: [metrics],
      collect() {
        if (brokenCollector) throw new Error('collector failed');
        this.set(1);
      },
    });
    await ops.start();
    await app.start();
    port = ops.address()?.port ?? 0;
  });
  after(async () => {
    await app.stop(Date.now() + 1000);
    await ops.stop();
  });
  const healthy = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(res.status, 200, 'a fresh /health still answers');
  };

  malformedSuite('ops', () => port, healthy);

  test('ops: a handler that throws answers 500 and the server lives on', async () => {
    brokenCollector = true;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'internal error' });
    } finally {
      brokenCollector = false;
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    await healthy();
  });

  test('ops: a second server on the same port fails to start with a clear error instead of throwing later', async () => {
    const other = new OpsServer({ host: '127.0.0.1', port, app, metrics, logger });
    await assert.rejects(other.start(), /ops server: 127\.0\.0\.1:\d+ is already in use \(set HEALTH_HOST \/ HEALTH_PORT\)/);
    await healthy();
  });
});

describe('web server under malformed HTTP', () => {
  let web: RunningWeb;
  let port = 0;
  before(async () => {
    web = await startWeb({ LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'hardening-test-secret-0123456789abcdef' });
    port = Number(new URL(web.baseUrl).port);
  });
  after(async () => {
    await web.stop();
  });
  const healthy = async () => {
    const res = await fetch(`${web.baseUrl}/`);
    assert.equal(res.status, 200, 'a fresh page request still answers');
    const token = await fetch(`${web.baseUrl}/api/token`, { method: 'POST' });
    assert.equal(token.status, 200, 'the token endpoint still answers');
  };

  malformedSuite('web', () => port, healthy);

  test('web: a client that sends half a body and disconnects does not disturb the server', async () => {
    const result = await rawRequest(port, `POST /api/token HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"partic`, 300);
    assert.equal(result.status, undefined, 'still waiting for the body when the client gave up');
    await healthy();
  });
});

describe('request handlers that throw', () => {
  let server: Server;
  let base = '';
  before(async () => {
    const handler = createRequestHandler({
      config: {
        LIVEKIT_URL: 'ws://127.0.0.1:7880',
        LIVEKIT_API_KEY: 'k',
        LIVEKIT_API_SECRET: 's',
        AGENT_NAME: 'a',
        WEB_PUBLIC_LIVEKIT_URL: undefined,
        WEB_ROOM_PREFIX: 'r-',
        WEB_TOKEN_TTL_SECONDS: 60,
      },
      logger,
      limiter: new RateLimiter(100),
      assets: () => {
        throw new Error('asset store exploded');
      },
      onToken: () => {
        throw new Error('metrics exploded');
      },
    });
    server = createServer(safeHandler(handler, { logger, name: 'web' }));
    hardenHttpServer(server, { logger, name: 'web' });
    await listen(server, { port: 0, host: '127.0.0.1', logger, name: 'web server' });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('a synchronous throw and an asynchronous rejection both answer 500; the process lives on', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 500);
    assert.deepEqual(await page.json(), { error: 'internal error' });
    const token = await fetch(`${base}/api/token`, { method: 'POST' });
    assert.equal(token.status, 500);
    assert.equal((await fetch(`${base}/api/token`)).status, 405, 'still answering');
  });
});

describe('requestPath', () => {
  test('reads origin-form literally, absolute-form by its path, and refuses the rest without throwing', () => {
    assert.equal(requestPath('/health?x=1'), '/health');
    assert.equal(requestPath('//'), '//');
    assert.equal(requestPath('//evil.example/health'), '//evil.example/health');
    assert.equal(requestPath('http://host/ready'), '/ready');
    assert.equal(requestPath('/a/../b'), '/b');
    for (const bad of [undefined, '', '*', 'http://[', 'ftp://x/', 'health', 'http://x:99999/']) assert.equal(requestPath(bad), undefined, String(bad));
  });
});
