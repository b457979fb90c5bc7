/**
 * "Nothing calls LiveKit Cloud or a model hub": the hybrid end-to-end suite (real service process,
 * real LiveKit server, Whisper, SmolLM2, Piper) run again inside a network namespace that has no
 * route off this machine (scripts/peers/offline-run.sh). If any part needed the internet, a room
 * would not be served and the suite would fail.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/load.js';

test('the agent serves a room and the legacy server speaks with only loopback reachable', { timeout: 480_000 }, async () => {
  const child = spawn(
    'bash',
    [join(PROJECT_ROOT, 'scripts/peers/offline-run.sh'), process.execPath, '--import', 'tsx', '--test', '--test-reporter=tap', 'test/agent/hybrid.e2e.test.ts'],
    // NODE_TEST_CONTEXT would make the inner runner think it is nested and run nothing.
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const tail = out.split('\n').slice(-60).join('\n');
  assert.match(out, /^# pass [1-9]\d*$/m, `no test passed offline:\n${tail}`);
  assert.match(out, /^# fail 0$/m, `tests failed offline:\n${tail}`);
  assert.equal(code, 0, tail);
  assert.ok(!/getaddrinfo|ENOTFOUND|EAI_AGAIN/.test(out), `something tried to resolve an outside host:\n${tail}`);
});
