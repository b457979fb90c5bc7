/**
 * The legacy component in this process, on real loopback sockets, with the real Piper voice.
 * Bad input and per-connection limits: malformed messages, sizes, text and queue limits, rate
 * limits, disconnects mid-text, the connection cap.
 * (The same behaviours against the real server process: server.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConnectError, LegacyClient } from '../../src/legacy/client.js';
import { eventually, ObservedSynthesizer, startLegacy, type RunningLegacy } from '../support/legacy.js';
import { LONG_TEXT, useRealEngine } from '../support/legacy-unit.js';

const engine = useRealEngine();

describe('bad input and limits', () => {
  let server: RunningLegacy;
  let observed: ObservedSynthesizer;
  before(async () => {
    observed = new ObservedSynthesizer(engine());
    server = await startLegacy(observed, {
      LEGACY_MAX_MESSAGE_BYTES: '2048',
      LEGACY_MAX_TEXT_CHARS: '300',
      LEGACY_MAX_QUEUED_TEXTS: '2',
      LEGACY_RATE_LIMIT_PER_SEC: '5',
      LEGACY_RATE_LIMIT_BURST: '30',
      LEGACY_MAX_CONNECTIONS: '6',
    });
  });
  after(() => server.stop());

  test('invalid JSON, unknown types, wrong field types and binary frames get INVALID_MESSAGE and the connection stays usable', async () => {
    const client = await LegacyClient.connect(server.url);
    const hostile: Array<string | Buffer> = [
      'not json',
      '{"type":"text"',
      '[]',
      '{}',
      '{"type":"shout","text":"x"}',
      '{"type":"text","text":""}',
      '{"type":"text","text":["a"]}',
      '{"type":"text","text":"a","is_final":1}',
      '{"type":"control","command":"REWIND"}',
      '{"type":"configure","voice":"../../../etc/passwd"}',
      '{"type":"__proto__","text":"x"}',
      '{"type":"text","text":"a","__proto__":{"polluted":true}}'.replace('"a"', '5'),
      `{"a":${'['.repeat(500)}${']'.repeat(500)}}`,
      Buffer.from([0, 1, 2, 3]),
    ];
    for (const item of hostile) client.socket.send(item, { binary: Buffer.isBuffer(item) });
    await eventually(() => client.messages.filter((m) => m.type === 'error').length >= hostile.length, 5000, 'an error per bad message');
    const errors = client.messages.filter((m) => m.type === 'error');
    assert.deepEqual([...new Set(errors.map((e) => e['code']))], ['INVALID_MESSAGE']);
    assert.ok(errors.every((e) => typeof e['message'] === 'string' && String(e['message']).length > 0));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    client.say('Still here.');
    assert.equal((await client.waitFor((m) => m.type === 'session_end', 20_000))['reason'], 'completed');
    client.close();
  });

  test('a message over the size limit is refused with MESSAGE_TOO_LARGE; one far over it closes the socket with 1009', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('x'.repeat(3000));
    const error = await client.waitFor((m) => m.type === 'error');
    assert.equal(error['code'], 'MESSAGE_TOO_LARGE');
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
    client.say('x'.repeat(20_000));
    const closed = await client.closed(5000);
    assert.equal(closed.code, 1009);
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session');
  });

  test('text over LEGACY_MAX_TEXT_CHARS gets TEXT_TOO_LONG; more than LEGACY_MAX_QUEUED_TEXTS waiting gets QUEUE_FULL', async () => {
    const client = await LegacyClient.connect(server.url);
    client.say('y'.repeat(301));
    assert.equal((await client.waitFor((m) => m.type === 'error'))['code'], 'TEXT_TOO_LONG');
    client.say(LONG_TEXT.slice(0, 290));
    client.say('Queued one.');
    client.say('Queued two.');
    client.say('One too many.');
    const queueFull = await client.waitFor((m) => m.type === 'error' && m['code'] === 'QUEUE_FULL');
    assert.match(String(queueFull['message']), /limit 2/);
    client.control('STOP');
    const ack = await client.waitFor((m) => m.type === 'control_ack');
    assert.equal(ack['cleared'], 3);
    client.close();
  });

  test('more messages than the rate limit allows get RATE_LIMITED and the connection stays; controls and pings keep their own budget', async () => {
    // this server: 5 messages per second, burst 30 (controls: the defaults, 50 a second, burst 100)
    const started = performance.now();
    const client = await LegacyClient.connect(server.url);
    const FLOOD = 60;
    const floodStarted = performance.now();
    for (let i = 0; i < FLOOD; i++) client.send({ type: 'stats' });
    await eventually(() => client.messages.filter((m) => m.type === 'stats' || m.type === 'error').length >= FLOOD, 10_000, `${FLOOD} replies`);
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    const limited = client.messages.filter((m) => m.type === 'error' && m['code'] === 'RATE_LIMITED').length;
    const answered = client.messages.filter((m) => m.type === 'stats').length;
    // The bucket starts full (30) and refills 5 a second while the flood is read. How many more
    // that lets through depends on how long the flood took here: the bound is computed from it.
    const refillBound = Math.ceil(5 * floodSeconds);
    assert.ok(
      answered >= 30 && answered <= 30 + refillBound,
      `${answered} answered in ${floodSeconds.toFixed(2)} s (burst 30, at most ${refillBound} refilled)`,
    );
    assert.equal(limited, FLOOD - answered, 'every message was answered or refused');
    assert.ok(limited > 0, 'no message was refused');
    // The general budget is spent, yet controls and pings still get through: more of them than the
    // general budget can have held since the session started, so they cannot have come from it.
    const from = client.messages.length;
    const PINGS = 60;
    client.control('PAUSE');
    for (let i = 0; i < PINGS; i++) client.send({ type: 'ping', id: `during-flood-${i}` });
    client.control('RESUME');
    await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'RESUME', 10_000, from);
    const sessionSeconds = (performance.now() - started) / 1000;
    const after = client.messages.slice(from);
    assert.deepEqual(
      after.filter((m) => m.type === 'pong').map((m) => m['id']),
      Array.from({ length: PINGS }, (_, i) => `during-flood-${i}`),
    );
    assert.deepEqual(
      after.filter((m) => m.type === 'control_ack').map((m) => m['command']),
      ['PAUSE', 'RESUME'],
    );
    assert.equal(after.filter((m) => m.type === 'error').length, 0);
    const generalBudget = 30 + 5 * sessionSeconds;
    assert.ok(
      answered + PINGS + 2 > generalBudget,
      `${answered + PINGS + 2} messages admitted in ${sessionSeconds.toFixed(2)} s could have come from one budget of ${generalBudget.toFixed(1)}`,
    );
    // and the general budget refills: 400 ms later there is room for a message again
    await new Promise((r) => setTimeout(r, 400));
    const statsFrom = client.messages.length;
    client.send({ type: 'stats' });
    await client.waitFor((m) => m.type === 'stats', 2000, statsFrom);
    client.close();
  });

  test('a client that disconnects mid-utterance cancels its synthesis and frees the session', async () => {
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session before');
    const abandonedBefore = observed.abandoned;
    const client = await LegacyClient.connect(server.url);
    client.say(LONG_TEXT.slice(0, 290));
    await eventually(() => client.frames.length > 0, 10_000, 'first frame');
    client.terminate();
    await eventually(() => server.status().active_sessions === 0 && observed.running === 0, 5000, 'session and synthesis released');
    assert.equal(observed.abandoned, abandonedBefore + 1);
    const outcomes = server.status()['utterances_by_outcome'] as Record<string, number>;
    assert.ok((outcomes['client_disconnect'] ?? 0) >= 1);
  });

  test('over LEGACY_MAX_CONNECTIONS a connection is refused with 503 TOO_MANY_CONNECTIONS; a slot frees on close', async () => {
    await eventually(() => server.status().active_sessions === 0, 5000, 'no active session before');
    const clients = await Promise.all(Array.from({ length: 6 }, () => LegacyClient.connect(server.url)));
    const refused = await LegacyClient.connect(server.url).then(
      () => assert.fail('the 7th connection was accepted'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.status, 503);
    assert.match(refused.message, /TOO_MANY_CONNECTIONS/);
    clients[0]!.close();
    await clients[0]!.closed();
    await eventually(() => server.status().active_sessions === 5, 5000, 'slot freed');
    const again = await LegacyClient.connect(server.url);
    for (const c of [...clients, again]) c.close();
    await eventually(() => server.status().active_sessions === 0, 5000, 'all closed');
    assert.equal(server.status().errors_by_code['TOO_MANY_CONNECTIONS'], 1);
  });
});
