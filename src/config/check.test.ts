import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from './load.js';

function check(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/config/check.ts')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('config:check', () => {
  test('prints every value with its layer and masks secrets', () => {
    const secret = 'sk-test-0123456789abcdefghij';
    const result = check({ OPENAI_API_KEY: secret, LEGACY_AUTH_TOKEN: 'hunter2-token', HEALTH_PORT: '9191' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^HEALTH_PORT\s+9191\s+environment$/m);
    assert.match(result.stdout, /^ORCHESTRATOR_MODE\s+agent\s+\.env\.defaults$/m);
    assert.match(result.stdout, /^OPENAI_API_KEY\s+\*+ \(set, \d+ chars\)\s+environment$/m);
    assert.ok(!result.stdout.includes(secret), 'API key printed');
    assert.ok(!result.stdout.includes('hunter2-token'), 'auth token printed');
  });

  test('exits non-zero naming the invalid variable', () => {
    const result = check({ LEGACY_PORT: '123456' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /LEGACY_PORT="123456" \(from environment\); expected an integer between 0 and 65535/);
  });
});
