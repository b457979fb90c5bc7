import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The compose client validates without an engine; v2 plugin (`docker compose`) or v1 (`docker-compose`). */
function composeConfig(env: Record<string, string> = {}) {
  const options = { cwd: root, encoding: 'utf8' as const, timeout: 60_000, env: { ...process.env, ...env } };
  const v2 = spawnSync('docker', ['compose', 'config'], options);
  if (v2.status === 0 || !/unknown command|is not a docker command/.test(`${v2.stderr}${v2.stdout}`)) return v2;
  return spawnSync('docker-compose', ['config'], options);
}

test('docker compose config accepts the compose file and passes ORCHESTRATOR_MODE through', () => {
  const result = composeConfig({ ORCHESTRATOR_MODE: 'legacy', LIVEKIT_API_SECRET: '0123456789abcdef0123456789abcdef' });
  assert.equal(result.error, undefined, `no compose client: install docker-compose (${result.error?.message})`);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /ORCHESTRATOR_MODE: legacy/);
  assert.match(result.stdout, /livekit\/livekit-server/);
  assert.match(result.stdout, /curl.*http:\/\/127\.0\.0\.1:8081\/ready/s, 'the health check calls /ready');
});
