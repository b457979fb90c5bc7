/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * Timeouts, slow consumers and access: idle and session timeouts, backpressure, the auth token and
 * origins, realtime pacing.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { ConnectError, LegacyClient } from '../../src/legacy/client.js';
import { eventually, ObservedSynthesizer, startLegacy } from '../support/legacy.js';
import { assertGapFree, LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('timeouts, slow consumers and access', () => {
  test('an idle session ends with IDLE_TIMEOUT; a session past LEGACY_MAX_SESSION_MS ends with SESSION_TIMEOUT', async () => {
    const server = await startLegacy(engine(), { LEGACY_IDLE_TIMEOUT_MS: '1000', LEGACY_MAX_SESSION_MS: '2500' });
    try {
      const idle = await LegacyClient.connect(server.url);
      const opened = performance.now();
      const idleError = await idle.waitFor((m) => m.type === 'error', 5000);
      assert.equal(idleError['code'], 'IDLE_TIMEOUT');
      assert.ok(performance.now() - opened >= 950);
      assert.equal((await idle.waitFor((m) => m.type === 'session_end'))['reason'], 'idle_timeout');
      await idle.closed();

      const busy = await LegacyClient.connect(server.url);
      const keepAlive = setInterval(() => busy.open && busy.send({ type: 'ping' }), 300);
      try {
        const error = await busy.waitFor((m) => m.type === 'error', 6000);
        assert.equal(error['code'], 'SESSION_TIMEOUT');
        assert.equal((await busy.waitFor((m) => m.type === 'session_end'))['reason'], 'session_timeout');
        await busy.closed();
      } finally {
        clearInterval(keepAlive);
      }
      await eventually(() => server.status().active_sessions === 0, 3000, 'no active session');
    } finally {
      await server.stop();
    }
  });

  test('a client that stops reading is held by backpressure, then cut off with SLOW_CONSUMER after LEGACY_SLOW_CONSUMER_TIMEOUT_MS; memory stays bounded', async () => {
    const observed = new ObservedSynthesizer(engine());
    const server = await startLegacy(observed, {
      LEGACY_SEND_HIGH_WATER_BYTES: '65536',
      LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '1500',
      LEGACY_MAX_TEXT_CHARS: '20000',
      LEGACY_MAX_MESSAGE_BYTES: '65536',
    });
    try {
      // a raw socket that never reads after the handshake
      const socket = new WebSocket(server.url);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'text', text: LONG_TEXT.repeat(8) }));
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
      await eventually(() => (server.status().errors_by_code['SLOW_CONSUMER'] ?? 0) === 1, 60_000, 'SLOW_CONSUMER');
      await eventually(() => server.status().active_sessions === 0 && observed.running === 0, 5000, 'session and synthesis released');
      const outcomes = server.status()['utterances_by_outcome'] as Record<string, number>;
      assert.equal(outcomes['slow_consumer'], 1);
      // far less audio went out than the text holds: the server did not keep producing
      assert.ok(Number(server.status()['frames']) < 3000, `${server.status()['frames']} frames sent`);
      socket.terminate();
    } finally {
      await server.stop();
    }
  });

  test('a client that reads slowly is paced by backpressure, not cut off: every frame arrives', async () => {
    // the hard cap is far below what the kernel's socket buffers let pile up: only backpressure keeps this client
    const server = await startLegacy(engine(), {
      LEGACY_SEND_HIGH_WATER_BYTES: '16384',
      LEGACY_SEND_BUFFER_BYTES: '65536',
      LEGACY_SLOW_CONSUMER_TIMEOUT_MS: '2000',
      LEGACY_MAX_TEXT_CHARS: '5000',
    });
    try {
      const client = await LegacyClient.connect(server.url);
      const tcp = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      // read for 400 ms, then stop for 400 ms, over and over: each stall well under the slow-consumer limit
      let reading = true;
      const toggle = setInterval(() => {
        reading = !reading;
        if (reading) tcp.resume();
        else tcp.pause();
      }, 400);
      try {
        client.say(LONG_TEXT.repeat(3));
        const end = await client.waitFor((m) => m.type === 'session_end', 120_000);
        assert.equal(end['reason'], 'completed');
      } finally {
        clearInterval(toggle);
        tcp.resume();
      }
      assertGapFree(client.frames);
      assert.ok(client.frames.length > 2000, `${client.frames.length} frames`);
      assert.equal(server.status().errors_by_code['SLOW_CONSUMER'] ?? 0, 0);
      client.close();
    } finally {
      await server.stop();
    }
  });

  test('with LEGACY_AUTH_TOKEN, a connection without the token is refused with 401 before the upgrade; header or query token is accepted', async () => {
    const server = await startLegacy(engine(), { LEGACY_AUTH_TOKEN: 'test-token-123-long-enough', LEGACY_ALLOWED_ORIGINS: 'https://allowed.example' });
    try {
      for (const options of [{}, { token: 'wrong' }, { token: 'wrong', tokenInQuery: true }]) {
        const error = await LegacyClient.connect(server.url, options).then(
          () => assert.fail('accepted without a valid token'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof ConnectError);
        assert.equal(error.status, 401);
        assert.match(String(error.body), /UNAUTHORIZED/);
      }
      const byHeader = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough' });
      const byQuery = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', tokenInQuery: true });
      const fromAllowed = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', headers: { origin: 'https://allowed.example' } });
      const forbidden = await LegacyClient.connect(server.url, { token: 'test-token-123-long-enough', headers: { origin: 'https://evil.example' } }).then(
        () => assert.fail('origin accepted'),
        (e: unknown) => e,
      );
      assert.ok(forbidden instanceof ConnectError);
      assert.equal(forbidden.status, 403);
      const wrongPath = await LegacyClient.connect(`${server.url}/other?token=test-token-123`).then(
        () => assert.fail('path accepted'),
        (e: unknown) => e,
      );
      assert.equal((wrongPath as ConnectError).status, 404);
      for (const c of [byHeader, byQuery, fromAllowed]) c.close();
      assert.equal(server.status().errors_by_code['UNAUTHORIZED'], 3);
      assert.equal(server.status().errors_by_code['ORIGIN_NOT_ALLOWED'], 1);
    } finally {
      await server.stop();
    }
  });

  test('realtime pacing sends one frame per 20 ms', async () => {
    const server = await startLegacy(engine(), { LEGACY_PACING: 'realtime' });
    try {
      const client = await LegacyClient.connect(server.url);
      client.say('Paced in real time, one frame every twenty milliseconds.');
      await client.waitFor((m) => m.type === 'session_end', 30_000);
      const frames = client.frames;
      const span = frames.at(-1)!.receivedAt - frames[0]!.receivedAt;
      const expected = (frames.length - 1) * 20;
      assert.ok(Math.abs(span - expected) < expected * 0.15 + 100, `${frames.length} frames over ${span.toFixed(0)} ms, expected about ${expected} ms`);
      client.close();
    } finally {
      await server.stop();
    }
  });
});
