import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../ops/logger.js';
import { connectControl, ControlServer, type JobEvent } from './control-channel.js';

describe('agent control socket', () => {
  it('hands a job process the main config and carries its events back, ignoring malformed lines', async () => {
    const config = loadConfig({ env: { AGENT_NAME: 'control-test', LLM_BASE_URL: 'http://127.0.0.1:9/v1' } }).config;
    const server = new ControlServer(config, createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }));
    await server.start();
    const events: JobEvent[] = [];
    server.on('event', (e) => events.push(e));
    try {
      const client = await connectControl(process.pid);
      assert.deepEqual(client.config, JSON.parse(JSON.stringify(config)));

      const raw = createConnection(server.path);
      await new Promise((r) => raw.once('connect', r));
      raw.write('not json\n{"type":"stage","room":"r","stage":"nope","ms":1}\n');
      client.send({ type: 'stage', room: 'r1', stage: 'llm_ttft', ms: 321 });
      client.send({ type: 'provider_error', room: 'r1', provider: 'stt', host: '127.0.0.1:9', kind: 'timeout', model: 'm', cause: 'slow' });
      const deadline = Date.now() + 3000;
      while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(events, [
        { type: 'stage', room: 'r1', stage: 'llm_ttft', ms: 321 },
        { type: 'provider_error', room: 'r1', provider: 'stt', host: '127.0.0.1:9', kind: 'timeout', model: 'm', cause: 'slow' },
      ]);
      raw.destroy();
      client.close();
    } finally {
      await server.stop();
    }
  });

  it('refuses to connect when the main process runs no control socket', async () => {
    await assert.rejects(connectControl(999_999_999, 1000));
  });
});
