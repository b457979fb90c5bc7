/**
 * The local-models component: model files checked before anything starts, a real model server
 * process (SmolLM2 via node-llama-cpp) started, health-checked, restarted after a crash, and stopped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.js';
import { createLocalModelsComponent } from '../../src/local-models/index.js';
import { LocalModelFileError } from '../../src/local-models/model-files.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { peerCacheDir } from '../support/cache.js';
import { TEST_LLM_FILE } from '../support/llm-server.js';
import { freeTcpPort } from '../support/ports.js';

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });
const scratch = mkdtempSync(join(tmpdir(), 'vo-local-models-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function component(env: Record<string, string>) {
  // SmolLM2, the small model set-up also installs: the supervision is the same for any model.
  const { config } = loadConfig({ env: { ORCHESTRATOR_MODE: 'agent', LLM_PROVIDER: 'local', STT_PROVIDER: 'none', LOCAL_LLM_MODEL: TEST_LLM_FILE, ...env } });
  return createLocalModelsComponent({ config, logger, metrics: createMetricsRegistry('agent') });
}

describe('local models: files are checked before anything starts', () => {
  it('a missing model names the variable, the file and the set-up command, not a machine path', () => {
    const empty = mkdtempSync(join(scratch, 'empty-'));
    assert.throws(
      () => component({ MODELS_DIR: empty }),
      (err: Error) => {
        assert.ok(err instanceof LocalModelFileError);
        assert.match(err.message, /LOCAL_LLM_MODEL/);
        assert.match(err.message, new RegExp(TEST_LLM_FILE.replace(/\./g, '\\.')));
        assert.match(err.message, /npm run setup/);
        assert.doesNotMatch(err.message, new RegExp(scratch));
        return true;
      },
    );
  });

  it('a corrupt or truncated model file is refused as such', () => {
    const dir = mkdtempSync(join(scratch, 'corrupt-'));
    writeFileSync(join(dir, 'broken.gguf'), Buffer.alloc(2 * 1024 * 1024, 7));
    writeFileSync(join(dir, 'short.gguf'), 'GGUF');
    for (const file of ['broken.gguf', 'short.gguf']) {
      assert.throws(() => component({ MODELS_DIR: dir, LOCAL_LLM_MODEL: file }), /is not a GGUF model \(corrupt or incomplete download\?\).*npm run setup/);
    }
  });

  it('a model file name with a folder in it is refused by the configuration', () => {
    assert.throws(() => component({ LOCAL_LLM_MODEL: '../etc/passwd' }), /LOCAL_LLM_MODEL/);
  });

  it('speech-to-text only needs its own model: LLM_PROVIDER=openai with a server needs no LLM file', () => {
    const empty = mkdtempSync(join(scratch, 'none-'));
    const c = component({ MODELS_DIR: empty, LLM_PROVIDER: 'auto', LLM_BASE_URL: 'http://127.0.0.1:9/v1' });
    assert.equal(c.health().detail, 'none needed');
  });
});

/** The thread of `pid` that has used the most CPU, with its niceness (from /proc, Linux). */
function busiestThread(pid: number): { name: string; nice: number } {
  const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // fields after the name: state is field 3; utime 14, stime 15, nice 19
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name, cpu: Number(fields[11]) + Number(fields[12]), nice: Number(fields[16]) };
  });
  return threads.reduce((a, b) => (b.cpu > a.cpu ? b : a));
}

describe('local models: a real LLM server process (SmolLM2-135M) under supervision', () => {
  // The installed models folder, the way set-up links it from the checkout.
  const modelsDir = join(scratch, 'models');
  symlinkSync(join(peerCacheDir(), 'models'), modelsDir);

  it('starts, answers, is restarted after a crash, reports memory, and stops with its process', async () => {
    const port = await freeTcpPort();
    const c = component({ MODELS_DIR: modelsDir, LOCAL_LLM_PORT: String(port), LOCAL_LLM_THREADS: '1', LOCAL_LLM_PARALLEL: '1' });
    await c.start();
    try {
      assert.equal(c.health().ready, true);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
      const ask = async () =>
        (await client.chat.completions.create({ model: 'x', max_tokens: 12, messages: [{ role: 'user', content: 'What is the capital of France?' }] }))
          .choices[0]?.message.content ?? '';
      assert.match(await ask(), /Paris/i);

      const status = () =>
        (c.status?.() as { llm: { pid: number | null; restarts: number; state: string; memory_bytes: number | null } } | undefined)?.llm ??
        assert.fail('no status');
      const firstPid = status().pid;
      assert.ok(firstPid);
      const busiest = busiestThread(firstPid);
      assert.equal(busiest.nice, 5, `the thread that computed the answer (${busiest.name}) runs at LOCAL_LLM_NICE's default 5`);
      process.kill(firstPid, 'SIGKILL');
      const deadline = Date.now() + 90_000;
      while (!(status().state === 'running' && status().pid !== firstPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(status().restarts, 1);
      assert.notEqual(status().pid, firstPid);
      assert.match(await ask(), /Paris/i);
      assert.ok((status().memory_bytes ?? 0) > 50 * 1024 * 1024, `memory reported: ${status().memory_bytes}`);
    } finally {
      const pid = (c.status?.() as { llm: { pid: number | null } } | undefined)?.llm.pid;
      await c.stop(Date.now() + 5000);
      if (pid) assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the model process is gone after stop');
    }
  });

  it('a port already in use stops start-up with a message naming LOCAL_LLM_PORT', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const c = component({ MODELS_DIR: modelsDir, LOCAL_LLM_PORT: String(port), LOCAL_LLM_THREADS: '1' });
      await assert.rejects(c.start(), /local LLM server .*cannot start: .*already in use \(set LOCAL_MODELS_HOST, LOCAL_LLM_PORT\)/);
    } finally {
      taken.close();
    }
  });
});
