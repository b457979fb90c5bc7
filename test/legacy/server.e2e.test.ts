/**
 * End to end: the real service process (`src/main.ts`, ORCHESTRATOR_MODE=legacy) on free loopback
 * ports with the real Piper voice, driven over real sockets by clients and by the CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { ConnectError } from '../../src/legacy/client.js';
import { eventually, startServerProcess, type ServerProcess } from '../support/legacy.js';
import { closeClientsAfterEach, documentedExchange, getJson, legacyStatus, PARAGRAPH, runCli, wavSeconds } from '../support/legacy-e2e.js';
import { assertGapFree } from '../support/legacy-unit.js';

const open = closeClientsAfterEach();

describe('legacy server process with realtime pacing', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ LEGACY_MAX_CONNECTIONS: '40', LEGACY_PACING: 'realtime' });
  });
  after(async () => {
    await server?.stop();
  });

  test('a client written only from the documented protocol works: frames from 1 without gaps, session_end completed per text, socket reused', async () => {
    const result = await documentedExchange(server.url, ['Hello from a documented client.', 'And a second text on the same socket.']);
    assert.match(result.sessionId, /.+/);
    assert.equal(result.types[0], 'session_start');
    assert.deepEqual([...new Set(result.types)].sort(), ['audio', 'session_end', 'session_start']);
    assert.equal(result.perText.length, 2);
    const all = result.perText.flatMap((t) => t.sequences);
    assert.deepEqual(
      all,
      all.map((_, i) => i + 1),
    );
    for (const text of result.perText) {
      assert.ok(text.frames > 40, `${text.frames} frames`);
      assert.equal(text.end['reason'], 'completed');
      assert.equal(text.end['session_id'], result.sessionId);
    }
  });

  test('the ops server reports the legacy component: /ready, /metrics with mode label, /status counters, old paths', async () => {
    const ready = await getJson(`${server.healthUrl}/ready`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`${server.healthUrl}/metrics`)).text();
    for (const name of [
      'legacy_sessions_active',
      'legacy_sessions_total',
      'legacy_utterances_total',
      'legacy_audio_frames_total',
      'legacy_first_audio_seconds_bucket',
      'tts_synthesis_rtf_bucket',
    ]) {
      assert.match(metrics, new RegExp(`${name}\\{[^}]*mode="legacy"`), name);
    }
    const status = await legacyStatus(server);
    assert.ok(Number(status['total_sessions']) >= 1);
    assert.ok(Number(status['frames']) > 0);
    assert.ok((status['first_audio_ms'] as Record<string, number>)['p95']! > 0);
    assert.equal((await getJson(`${server.healthUrl}/liveness`)).status, 200);
    assert.equal((await getJson(`${server.healthUrl}/readiness`)).status, 200);
    const summary = await getJson(`${server.healthUrl}/metrics/summary`);
    assert.equal(summary.status, 200);
    assert.match(JSON.stringify(summary.body), /first_audio_ms/);
  });

  test('PAUSE stops delivery within 50 ms of arriving (median round trip under 50 ms), RESUME continues at the next sequence, STOP clears', async (t) => {
    const client = await open(server.url);
    client.say(`${PARAGRAPH} ${PARAGRAPH}`);
    const latencies: number[] = [];
    const serverLatencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const seen = client.frames.length;
      await eventually(() => client.frames.length > seen, 20_000, 'more frames');
      const from = client.messages.length;
      const sent = performance.now();
      client.control('PAUSE');
      const ack = await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'PAUSE', 5000, from);
      latencies.push(ack.receivedAt - sent);
      serverLatencies.push(Number(ack['latency_ms']));
      const paused = Number(ack['sequence']);
      await new Promise((r) => setTimeout(r, 250));
      assert.ok(
        client.frames.every((f) => f.sequence <= paused),
        `a frame after PAUSE (acked at ${paused})`,
      );
      client.control('RESUME');
      await eventually(() => client.frames.length > paused, 20_000, 'frames after RESUME');
      assert.equal(client.frames[paused]!.sequence, paused + 1);
    }
    latencies.sort((a, b) => a - b);
    t.diagnostic(`PAUSE round trips ${latencies.map((l) => l.toFixed(1)).join(', ')} ms; server-side ${serverLatencies.join(', ')} ms`);
    // the server stops at once; the round trip also holds both processes' scheduling on a busy 2-core machine
    assert.ok(
      serverLatencies.every((l) => l < 50),
      `server took ${serverLatencies} ms`,
    );
    assert.ok(latencies[2]! < 50, `median PAUSE round trip ${latencies[2]!.toFixed(1)} ms`);
    assert.ok(latencies[4]! < 250, `slowest PAUSE round trip ${latencies[4]!.toFixed(1)} ms`);
    client.say('Queued behind.');
    client.control('STOP');
    const stopAck = await client.waitFor((m) => m.type === 'control_ack' && m['command'] === 'STOP');
    assert.equal(stopAck['cleared'], 2);
    const last = Number(stopAck['sequence']);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(client.frames.at(-1)!.sequence, last);
    assertGapFree(client.frames);
    assert.deepEqual(
      client.messages.filter((m) => m.type === 'session_end').map((m) => m['reason']),
      ['stopped', 'stopped'],
    );
    client.close();
  });

  test('20 concurrent sessions each get their own gap-free sequence; one stopping does not affect the others', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => open(server.url)));
    assert.equal(new Set(clients.map((c) => c.sessionId)).size, 20);
    clients.forEach((c, i) => {
      c.say(`Session ${i + 1} says hello.`);
      c.say('Then a short second line.');
    });
    const stopper = clients[0]!;
    stopper.control('STOP');
    await Promise.all(
      clients.slice(1).map(async (c) => {
        const first = await c.waitFor((m) => m.type === 'session_end', 240_000);
        await c.waitFor((m) => m.type === 'session_end', 240_000, c.messages.indexOf(first) + 1);
      }),
    );
    for (const [i, c] of clients.entries()) {
      if (i === 0) continue;
      assert.deepEqual(
        c.messages.filter((m) => m.type === 'session_end').map((m) => m['reason']),
        ['completed', 'completed'],
        `session ${i}`,
      );
      assertGapFree(c.frames, `session ${i}`);
      assert.ok(c.frames.length > 50, `session ${i}: ${c.frames.length} frames`);
    }
    assert.deepEqual(
      stopper.messages.filter((m) => m.type === 'session_end').map((m) => m['reason']),
      ['stopped', 'stopped'],
    );
    for (const c of clients) c.close();
    await eventually(async () => (await legacyStatus(server)).active_sessions === 0, 10_000, 'no active session');
  });

  test('the CLI, fed through a pipe, writes a WAV whose duration matches the audio the server sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'legacy-cli-'));
    try {
      const lines = ['Writing speech to a file.', 'Second line from the pipe.'];
      const out = join(dir, 'pipe.wav');
      const result = await runCli(['--url', server.url, '--out', out], `${lines.join('\n')}\n/help\n`);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /first audio after \d+ ms/);
      const wav = wavSeconds(out);
      assert.equal(wav.sampleRate, 48000);
      assert.equal(wav.channels, 1);
      // reference: the same lines through a protocol client (Piper's timing noise varies a little)
      const reference = await documentedExchange(server.url, lines);
      const expected = reference.perText.reduce((n, t) => n + t.frames, 0) * 0.02;
      assert.ok(Math.abs(wav.seconds - expected) < expected * 0.15, `WAV ${wav.seconds.toFixed(2)} s, expected about ${expected.toFixed(2)} s`);
      const reported = [...result.stdout.matchAll(/done: ([\d.]+) s/g)].reduce((n, m) => n + Number(m[1]), 0);
      assert.ok(Math.abs(reported - wav.seconds) < 0.05, `CLI reported ${reported} s, WAV has ${wav.seconds} s`);

      const sayOut = join(dir, 'say.wav');
      const say = await runCli(['--url', server.url, '--say', 'One shot.', '--out', sayOut, '--quiet'], undefined);
      assert.equal(say.code, 0, say.stderr);
      assert.ok(wavSeconds(sayOut).seconds > 0.3);
      const unreachable = await runCli(['--url', 'ws://127.0.0.1:9', '--say', 'nobody'], undefined);
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:9/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGTERM with sessions in flight: each gets session_end reason shutdown, the CLI says the server went away, exit code 0', async () => {
    const busy = await Promise.all(Array.from({ length: 3 }, () => open(server.url)));
    const idle = await open(server.url);
    for (const c of busy) c.say(`${PARAGRAPH} ${PARAGRAPH}`);
    await Promise.all(busy.map((c) => eventually(() => c.frames.length > 0, 60_000, 'first frame')));
    const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--url', server.url, '--out', '/dev/null'], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let cliErr = '';
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (cliErr += d));
    let cliOut = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (cliOut += d));
    await eventually(() => cliOut.includes('connected'), 90_000, 'CLI connected');
    const cliExit = new Promise<number | null>((resolve) => cli.on('exit', resolve));
    server.proc.signal('SIGTERM');
    for (const c of [...busy, idle]) {
      const end = await c.waitFor((m) => m.type === 'session_end' && m['reason'] !== 'completed', 15_000);
      assert.equal(end['reason'], 'shutdown');
      assert.equal((await c.closed()).code, 1001);
    }
    assert.equal(await server.proc.exitsWithin(15_000), true, 'server still running after SIGTERM');
    assert.deepEqual(await server.proc.exited, { code: 0, signal: null });
    assert.equal(await cliExit, 1);
    assert.match(cliErr, /server closed the connection/);
  });
});

describe('legacy server process with tight limits and a token', () => {
  let server: ServerProcess;
  const token = 'e2e-token-456-long-enough';
  before(async () => {
    server = await startServerProcess({
      LEGACY_AUTH_TOKEN: token,
      LEGACY_MAX_CONNECTIONS: '4',
      LEGACY_MAX_MESSAGE_BYTES: '8192',
      LEGACY_MAX_TEXT_CHARS: '3000',
      LEGACY_MAX_QUEUED_TEXTS: '2',
      LEGACY_RATE_LIMIT_PER_SEC: '5',
      LEGACY_RATE_LIMIT_BURST: '20',
      LEGACY_IDLE_TIMEOUT_MS: '2000',
      LEGACY_MAX_SESSION_MS: '6000',
      // the hard cap below the high-water mark: a stalled client is cut at the cap, well within the
      // 6 s session limit (the backpressure timeout path is proven in server-timeouts.test.ts)
      LEGACY_SEND_BUFFER_BYTES: '65536',
      LEGACY_SEND_HIGH_WATER_BYTES: '16777216',
    });
  });
  after(async () => {
    await server?.stop();
  });
  const connect = () => open(server.url, { token });

  test('without the token the upgrade is refused with 401; with it (header or query) the session starts', async () => {
    const refused = await open(server.url).then(
      () => assert.fail('accepted without token'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.status, 401);
    const a = await connect();
    const b = await open(server.url, { token, tokenInQuery: true });
    a.close();
    b.close();
  });

  test('hostile and malformed input gets INVALID_MESSAGE or the limit code; the server stays up with no leaked session', async () => {
    const client = await connect();
    const bad: Array<string | Buffer> = [
      '{',
      'null',
      '{"type":1}',
      '{"type":"text"}',
      '{"type":"text","text":{}}',
      '{"type":"control","command":"stop"}',
      Buffer.alloc(64, 7),
      '\u0000\u0001',
    ];
    for (const item of bad) client.socket.send(item, { binary: Buffer.isBuffer(item) });
    await eventually(() => client.messages.filter((m) => m.type === 'error').length >= bad.length, 5000, 'an error per message');
    assert.deepEqual([...new Set(client.messages.filter((m) => m.type === 'error').map((m) => m['code']))], ['INVALID_MESSAGE']);
    const codes = async (send: () => void, code: string) => {
      const from = client.messages.length;
      send();
      assert.equal((await client.waitFor((m) => m.type === 'error', 5000, from))['code'], code);
    };
    await codes(() => client.say('z'.repeat(9000)), 'MESSAGE_TOO_LARGE');
    await codes(() => client.say('z '.repeat(1600)), 'TEXT_TOO_LONG');
    await codes(() => {
      client.say(PARAGRAPH);
      client.say('one');
      client.say('two');
      client.say('three');
    }, 'QUEUE_FULL');
    client.control('STOP');
    await new Promise((r) => setTimeout(r, 1100)); // let the rate bucket refill a little
    await codes(() => {
      for (let i = 0; i < 30; i++) client.send({ type: 'stats' });
    }, 'RATE_LIMITED');
    assert.equal(client.open, true);
    // a frame far over the limit closes that one socket (1009) and nothing else
    client.say('q'.repeat(50_000));
    assert.equal((await client.closed()).code, 1009);
    const other = await connect();
    other.send({ type: 'ping' });
    await other.waitFor((m) => m.type === 'pong');
    other.close();
    await eventually(async () => (await legacyStatus(server)).active_sessions === 0, 5000, 'no active session');
    assert.equal((await getJson(`${server.healthUrl}/health`)).status, 200);
  });

  test('over LEGACY_MAX_CONNECTIONS the upgrade is refused with 503 TOO_MANY_CONNECTIONS', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect()));
    const refused = await connect().then(
      () => assert.fail('5th connection accepted'),
      (e: unknown) => e,
    );
    assert.equal((refused as ConnectError).status, 503);
    assert.match((refused as ConnectError).message, /TOO_MANY_CONNECTIONS/);
    for (const c of clients) c.close();
    await eventually(async () => (await legacyStatus(server)).active_sessions === 0, 5000, 'no active session');
  });

  test('idle sessions end with IDLE_TIMEOUT and long ones with SESSION_TIMEOUT', async () => {
    const idle = await connect();
    const busy = await connect();
    const keepAlive = setInterval(() => busy.open && busy.send({ type: 'ping' }), 500);
    try {
      assert.equal((await idle.waitFor((m) => m.type === 'error', 6000))['code'], 'IDLE_TIMEOUT');
      assert.equal((await idle.waitFor((m) => m.type === 'session_end'))['reason'], 'idle_timeout');
      assert.equal((await busy.waitFor((m) => m.type === 'error', 10_000))['code'], 'SESSION_TIMEOUT');
      assert.equal((await busy.waitFor((m) => m.type === 'session_end'))['reason'], 'session_timeout');
      await Promise.all([idle.closed(), busy.closed()]);
    } finally {
      clearInterval(keepAlive);
    }
  });
});

// Its own server: filling the kernel's socket buffers takes longer than the tight limits above allow
// on a loaded machine (those end the session after 6 s, before the send buffer's cap is reached).
describe('legacy server process with a small send buffer', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ LEGACY_SEND_BUFFER_BYTES: '65536', LEGACY_SEND_HIGH_WATER_BYTES: '16777216' });
  });
  after(async () => {
    await server?.stop();
  });

  test('a client that stops reading is cut off with SLOW_CONSUMER and one that disconnects mid-utterance is freed', async () => {
    const before = (await legacyStatus(server)).errors_by_code['SLOW_CONSUMER'] ?? 0;
    const stalled = new WebSocket(server.url);
    await new Promise((resolve, reject) => stalled.once('open', resolve).once('error', reject));
    // far more audio than the socket buffers of the kernel can hold
    stalled.send(JSON.stringify({ type: 'text', text: PARAGRAPH.repeat(12) }));
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(async () => ((await legacyStatus(server)).errors_by_code['SLOW_CONSUMER'] ?? 0) === before + 1, 90_000, 'SLOW_CONSUMER');
    stalled.terminate();

    const leaving = await open(server.url);
    leaving.say(PARAGRAPH);
    await eventually(() => leaving.frames.length > 0, 20_000, 'first frame');
    leaving.terminate();
    await eventually(async () => (await legacyStatus(server)).active_sessions === 0, 5000, 'no active session');
    const outcomes = (await legacyStatus(server))['utterances_by_outcome'] as Record<string, number>;
    assert.ok((outcomes['client_disconnect'] ?? 0) >= 1);
    assert.equal(outcomes['slow_consumer'], 1);
  });
});
