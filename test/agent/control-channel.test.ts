import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { CONTROL_ENV, connectControl, ControlServer, type JobEvent } from '../../src/agent/control-channel.js';

const config = loadConfig({ env: { AGENT_NAME: 'control-test', LLM_BASE_URL: 'http://127.0.0.1:9/v1' } }).config;
const silent = () => createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

/** A raw connection; resolves with everything the server sent once it closes the connection (or after `waitMs`). */
function rawExchange(path: string, send: string | undefined, waitMs = 7000): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection(path);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedByServer: false });
    }, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
    });
    socket.once('connect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ received, closedByServer: true });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
  });
}

describe('agent control socket', () => {
  it('hands a job process with the token the main config and carries its events back, ignoring malformed lines', async () => {
    const server = new ControlServer(config, silent());
    await server.start();
    const events: JobEvent[] = [];
    server.on('event', (e) => events.push(e));
    try {
      const client = await connectControl({ path: server.path, token: server.token });
      assert.deepEqual(client.config, JSON.parse(JSON.stringify(config)));

      client.send({ type: 'turn', room: 'r1', assistant: 'a', turn: 1, e2e_ms: 900, stages: { llm_ttft: 321 }, interrupted: false });
      client.send({ type: 'provider_error', room: 'r1', assistant: 'a', provider: 'stt', host: '127.0.0.1:9', kind: 'timeout', model: 'm', cause: 'slow' });
      const deadline = Date.now() + 3000;
      while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(events, [
        { type: 'turn', room: 'r1', assistant: 'a', turn: 1, e2e_ms: 900, stages: { llm_ttft: 321 }, interrupted: false },
        { type: 'provider_error', room: 'r1', assistant: 'a', provider: 'stt', host: '127.0.0.1:9', kind: 'timeout', model: 'm', cause: 'slow' },
      ]);
      client.close();
    } finally {
      await server.stop();
    }
  });

  it('lives in a private 0700 directory of its own with a 0600 socket, removed on stop', async () => {
    const a = new ControlServer(config, silent());
    const b = new ControlServer(config, silent());
    await a.start();
    await b.start();
    try {
      assert.notEqual(a.path, b.path);
      assert.notEqual(a.token, b.token);
      assert.ok(a.token.length >= 40, 'a long random token');
      for (const server of [a, b]) {
        const dir = dirname(server.path);
        assert.ok(dir.startsWith(tmpdir()), 'under the temporary directory');
        assert.equal(statSync(dir).mode & 0o777, 0o700, 'directory is private');
        assert.ok(statSync(server.path).isSocket());
        assert.equal(statSync(server.path).mode & 0o777, 0o600, 'socket file is owner-only');
      }
      assert.deepEqual(a.env(), { [CONTROL_ENV.socket]: a.path, [CONTROL_ENV.token]: a.token });
    } finally {
      await a.stop();
      await b.stop();
    }
    assert.equal(existsSync(dirname(a.path)), false, 'directory removed on stop');
  });

  it('drops a connection with a wrong, missing or late token, and never sends it the config', async () => {
    const server = new ControlServer(config, silent());
    await server.start();
    const events: JobEvent[] = [];
    server.on('event', (e) => events.push(e));
    try {
      const cases: Array<[string, string | undefined]> = [
        ['wrong token', `${JSON.stringify({ type: 'hello', pid: 1, token: 'x'.repeat(server.token.length) })}\n`],
        ['no token', `${JSON.stringify({ type: 'hello', pid: 1 })}\n`],
        ['an event instead of hello', `${JSON.stringify({ type: 'turn', room: 'r', turn: 1, e2e_ms: 1, stages: {}, interrupted: false })}\n`],
        ['not JSON', 'not json\n'],
        ['an endless line', 'x'.repeat(70 * 1024)],
        ['nothing at all (hello timeout)', undefined],
      ];
      for (const [what, send] of cases) {
        const { received, closedByServer } = await rawExchange(server.path, send);
        assert.ok(closedByServer, `${what}: the server closed the connection`);
        assert.equal(received, '', `${what}: nothing was sent back`);
      }
      assert.deepEqual(events, [], 'nothing from unauthenticated connections is accepted');
      await assert.rejects(connectControl({ path: server.path, token: 'not-the-token', timeoutMs: 2000 }), /closed the connection|ECONNRESET/);
      // The right token still works after all that.
      const client = await connectControl({ path: server.path, token: server.token });
      assert.equal(client.config.AGENT_NAME, 'control-test');
      client.close();
    } finally {
      await server.stop();
    }
  });

  it('reads socket path and token from the environment the main process passes to job processes', async () => {
    const server = new ControlServer(config, silent());
    await server.start();
    const saved = { socket: process.env[CONTROL_ENV.socket], token: process.env[CONTROL_ENV.token] };
    Object.assign(process.env, server.env());
    try {
      const client = await connectControl();
      assert.equal(client.config.AGENT_NAME, 'control-test');
      client.close();
    } finally {
      for (const [key, name] of Object.entries(CONTROL_ENV) as Array<[keyof typeof saved, string]>) {
        if (saved[key] === undefined) delete process.env[name];
        else process.env[name] = saved[key];
      }
      await server.stop();
    }
  });

  it('starts even when a stale file sits where the old fixed socket path was', async () => {
    const stale = join(tmpdir(), `voice-orchestrator-agent-${process.pid}.sock`);
    writeFileSync(stale, 'stale');
    const server = new ControlServer(config, silent());
    try {
      await server.start();
      assert.notEqual(server.path, stale);
      const client = await connectControl({ path: server.path, token: server.token });
      client.close();
    } finally {
      await server.stop();
      rmSync(stale, { force: true });
    }
  });

  it('refuses to connect when the main process runs no control socket', async () => {
    await assert.rejects(connectControl({ path: join(tmpdir(), 'voice-orchestrator-no-such-dir', 'control.sock'), token: 't', timeoutMs: 1000 }));
    const saved = process.env[CONTROL_ENV.socket];
    delete process.env[CONTROL_ENV.socket];
    try {
      await assert.rejects(connectControl({ timeoutMs: 1000 }), /not started by the agent component/);
    } finally {
      if (saved !== undefined) process.env[CONTROL_ENV.socket] = saved;
    }
  });
});
