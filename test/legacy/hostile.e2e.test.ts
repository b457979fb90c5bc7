/**
 * Hostile clients against the real service process (legacy mode, real voice): malformed HTTP on
 * both ports, pathological texts, 10 000 generated and mutated protocol messages and raw
 * WebSocket frames, and connection churn. The process must stay up, leak no session, keep its
 * memory bounded and keep answering fresh clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { LegacyClient } from '../../src/legacy/client.js';
import { eventually, rawHttp, startServerProcess, type ServerProcess } from '../support/legacy.js';

const FUZZ_MESSAGES = 10_000;
const CHURN_CYCLES = 1_000;
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);

function rssBytes(pid: number | undefined): number {
  assert.ok(pid, 'the server has no pid');
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(match, 'no VmRSS for the server');
  return Number(match[1]) * 1024;
}

async function statusOf(server: ServerProcess): Promise<{ active_sessions: number; errors_by_code: Record<string, number> } & Record<string, unknown>> {
  const body = (await (await fetch(`${server.healthUrl}/status`, { signal: AbortSignal.timeout(5000) })).json()) as {
    components: Array<Record<string, unknown>>;
  };
  return body.components.find((c) => c['name'] === 'legacy') as never;
}

/** A fresh client still gets a session and a spoken text, promptly. */
async function assertServes(server: ServerProcess): Promise<void> {
  const client = await LegacyClient.connect(server.url);
  try {
    client.say('Still here.');
    const end = await client.waitFor((m) => m.type === 'session_end', 30_000);
    assert.equal(end['reason'], 'completed');
    assert.ok(client.frames.length > 10, 'no audio for a fresh client');
  } finally {
    client.close();
  }
}

const textArb = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ maxLength: 60, unit: 'grapheme' }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.constantFrom("dog's's's's's's's's's's's's's's's's's's's's", '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!', 'a'.repeat(250), '\u202e\u0000\u0007', '...,,,;;;:::'),
);
const protocolArb = fc.oneof(
  fc.record({ type: fc.constant('text'), text: textArb, is_final: fc.boolean() }, { requiredKeys: ['type', 'text'] }),
  fc.record(
    { type: fc.constant('text'), text: textArb, is_final: fc.boolean(), speed: fc.double(), voice: fc.string({ maxLength: 20 }) },
    { requiredKeys: ['type', 'text'] },
  ),
  fc.record({ type: fc.constant('control'), command: fc.constantFrom('PAUSE', 'RESUME', 'STOP', 'stop', '', 'PAUSE ') }),
  fc.record(
    {
      type: fc.constant('configure'),
      utterance_events: fc.boolean(),
      binary_audio: fc.boolean(),
      voice: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('../../etc/passwd', 'en_US-joe-medium', 'nope')),
      speed: fc.oneof(fc.double(), fc.constant(0.25)),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('ping'), id: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.object()) }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constantFrom('stats', 'text', 'audio', '__proto__', 'constructor') }),
);
/** Valid-looking messages, then mutated: truncated, with bytes inserted or replaced, or not JSON at all. */
const messageArb: fc.Arbitrary<{ data: string | Buffer; binary: boolean }> = fc.oneof(
  { weight: 4, arbitrary: protocolArb.map((m) => ({ data: JSON.stringify(m), binary: false })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(protocolArb, fc.nat(), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' }), fc.constantFrom('cut', 'insert', 'replace'))
      .map(([m, at, piece, how]) => {
        const json = JSON.stringify(m);
        const i = at % (json.length + 1);
        const data =
          how === 'cut'
            ? json.slice(0, i)
            : how === 'insert'
              ? json.slice(0, i) + piece + json.slice(i)
              : json.slice(0, i) + piece + json.slice(i + piece.length);
        return { data, binary: false };
      }),
  },
  { weight: 1, arbitrary: fc.json().map((data) => ({ data, binary: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })) },
);
/** Raw WebSocket frames, written straight to the TCP socket: any opcode, mask bit and length field. */
const rawFrameArb = fc
  .tuple(fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0, 126, 127))
  .map(([first, second, rest, extended]) => Buffer.from([first, extended ? (second & 0x80) | extended : second, ...rest]));

describe('hostile clients against the legacy service process', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({
      LEGACY_MAX_CONNECTIONS: '40',
      LEGACY_MAX_MESSAGE_BYTES: '4096',
      LEGACY_MAX_TEXT_CHARS: '300',
      LEGACY_MAX_QUEUED_TEXTS: '2',
      // generous rates: the fuzz wants every message parsed, not dropped by the rate limit
      LEGACY_RATE_LIMIT_PER_SEC: '100000',
      LEGACY_RATE_LIMIT_BURST: '100000',
    });
  });
  after(async () => {
    await server?.stop();
  });

  test('odd upgrade targets (GET // and unparsable ones) get a 4xx with a refusal code; the process stays up', async () => {
    const port = Number(new URL(server.url).port);
    const upgrade = (target: string) =>
      `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    for (const target of ['//', '//:0', 'http://[', '/%', '//x//y']) {
      const reply = await rawHttp(port, upgrade(target));
      assert.match(reply.head, /^HTTP\/1\.1 4\d\d /, `${target}: ${reply.head}`);
      assert.ok(reply.closed, `${target}: socket left open`);
    }
    assert.match((await rawHttp(port, upgrade('http://['))).head, /^HTTP\/1\.1 400 .*[\s\S]*X-Refusal-Code: BAD_REQUEST/);
    assert.match((await rawHttp(port, upgrade('//'))).head, /^HTTP\/1\.1 404 .*[\s\S]*X-Refusal-Code: NOT_FOUND/);
    assert.equal((await fetch(`${server.healthUrl}/health`)).status, 200);
    await assertServes(server);
  });

  test('malformed request lines, targets, headers and methods get 4xx and a closed socket on the legacy and ops ports', async () => {
    const ports = [Number(new URL(server.url).port), Number(new URL(server.healthUrl).port)];
    const requests = [
      'GET // HTTP/1.1\r\nHost: x\r\n\r\n',
      'GARBAGE\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'BREW / HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
      'GET //// HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    ];
    for (const port of ports) {
      for (const request of requests) {
        const reply = await rawHttp(port, request);
        assert.match(
          reply.head,
          /^HTTP\/1\.1 4\d\d /,
          `port ${port === ports[0] ? 'legacy' : 'ops'}: ${JSON.stringify(request.slice(0, 40))} -> ${reply.head.slice(0, 60)}`,
        );
        assert.ok(reply.closed, `socket left open after ${JSON.stringify(request.slice(0, 40))}`);
      }
    }
    assert.equal((await fetch(`${server.healthUrl}/health`)).status, 200);
  });

  test('pathological texts cost at most their own utterance; the session and the process go on', async () => {
    const client = await LegacyClient.connect(server.url);
    try {
      for (const text of [
        "The dog's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's's bone.",
        `${'x'.repeat(290)}`,
        '!?!?!?!?!?'.repeat(25),
        'word '.repeat(58),
      ]) {
        const from = client.messages.length;
        client.say(text);
        const end = await client.waitFor((m) => m.type === 'session_end', 60_000, from);
        assert.ok(['completed', 'error'].includes(String(end['reason'])), `ended with ${end['reason']}`);
        const errors = client.messages.slice(from).filter((m) => m.type === 'error');
        for (const error of errors) assert.equal(error['code'], 'SYNTHESIS_FAILED');
      }
      assert.equal(client.open, true);
    } finally {
      client.close();
    }
    await assertServes(server);
  });

  test(`fuzz: ${FUZZ_MESSAGES} generated and mutated messages and raw frames; no crash, no leaked session, bounded memory`, { timeout: 600_000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (FUZZ_SEED=${SEED} reproduces it)`);
    const pid = server.proc.pid;
    const rssBefore = rssBytes(pid);
    let rssPeak = rssBefore;
    const messages = fc.sample(messageArb, { numRuns: FUZZ_MESSAGES, seed: SEED });
    const rawFrames = fc.sample(rawFrameArb, { numRuns: 200, seed: SEED });
    const clients = 8;
    let sent = 0;
    let received = 0;
    const worker = async (slot: number) => {
      const mine = messages.filter((_, i) => i % clients === slot);
      let socket: WebSocket | undefined;
      for (let i = 0; i < mine.length; i++) {
        if (!socket || socket.readyState !== WebSocket.OPEN) {
          socket?.terminate();
          socket = await openSocket(server.url);
          socket.on('message', () => received++);
        }
        const { data, binary } = mine[i] as { data: string | Buffer; binary: boolean };
        socket.send(data, { binary });
        sent++;
        // a STOP now and then keeps the queue moving; a pause in sending lets replies flow
        if (i % 50 === 49) {
          socket.send(JSON.stringify({ type: 'control', command: 'STOP' }));
          await new Promise((r) => setTimeout(r, 20));
          rssPeak = Math.max(rssPeak, rssBytes(pid));
        }
      }
      socket?.close();
    };
    const rawWorker = async () => {
      for (const frame of rawFrames) {
        const socket = await openSocket(server.url);
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        (socket as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frame);
        await Promise.race([closed, new Promise((r) => setTimeout(r, 50))]);
        socket.terminate();
      }
    };
    await Promise.all([...Array.from({ length: clients }, (_, slot) => worker(slot)), rawWorker()]);
    assert.equal(sent, FUZZ_MESSAGES);
    await eventually(async () => (await statusOf(server)).active_sessions === 0, 30_000, 'every session closed');
    const status = await statusOf(server);
    t.diagnostic(`replies ${received}; errors by code ${JSON.stringify(status.errors_by_code)}`);
    assert.ok((status.errors_by_code['INVALID_MESSAGE'] ?? 0) > 1000, 'the fuzz did not reach the validator');
    assert.ok(received > FUZZ_MESSAGES / 2, `only ${received} replies`);
    const rssAfter = rssBytes(pid);
    rssPeak = Math.max(rssPeak, rssAfter);
    t.diagnostic(`RSS before ${mb(rssBefore)}, peak ${mb(rssPeak)}, after ${mb(rssAfter)}`);
    assert.ok(rssPeak < rssBefore * 1.5 + 150 * 2 ** 20, `RSS grew from ${mb(rssBefore)} to ${mb(rssPeak)}`);
    assert.equal((await fetch(`${server.healthUrl}/health`)).status, 200);
    await assertServes(server);
  });

  test(`churn: ${CHURN_CYCLES} connect/disconnect cycles end with RSS within 10 % of the start`, { timeout: 300_000 }, async (t) => {
    const pid = server.proc.pid;
    const cycle = async () => {
      const socket = await openSocket(server.url);
      socket.close();
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    };
    const run = async (count: number, parallel = 4) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next++ < count) await cycle();
        }),
      );
    };
    await run(200); // warm-up: pools and JIT settle before the baseline
    await eventually(async () => (await statusOf(server)).active_sessions === 0, 10_000, 'warm-up sessions closed');
    const start = rssBytes(pid);
    await run(CHURN_CYCLES);
    await eventually(async () => (await statusOf(server)).active_sessions === 0, 10_000, 'every session closed');
    const end = rssBytes(pid);
    t.diagnostic(`RSS start ${mb(start)}, end ${mb(end)} (${(((end - start) / start) * 100).toFixed(1)} %)`);
    assert.ok(end <= start * 1.1, `RSS grew from ${mb(start)} to ${mb(end)}`);
    assert.equal((await fetch(`${server.healthUrl}/health`)).status, 200);
  });
});

/** Opens a socket and resolves once the server's session_start arrived. */
function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('error', () => undefined); // the server may close it any way it likes
    socket.once('message', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once('close', () => reject(new Error('closed before open')));
  });
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}
