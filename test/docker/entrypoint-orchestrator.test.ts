import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docker', 'entrypoint-orchestrator.sh');
const stand_in = mkdtempSync(join(tmpdir(), 'vo-entrypoint-'));
// A stand-in `node` that records how it was exec'd instead of starting the service.
writeFileSync(join(stand_in, 'node'), '#!/bin/sh\necho "stand-in node: mode=$ORCHESTRATOR_MODE cwd=$(pwd) args=$*"\n');
chmodSync(join(stand_in, 'node'), 0o755);
after(() => rmSync(stand_in, { recursive: true, force: true }));

function run(mode: string | undefined) {
  const env: Record<string, string> = { PATH: `${stand_in}:/usr/bin:/bin`, APP_DIR: stand_in };
  if (mode !== undefined) env.ORCHESTRATOR_MODE = mode;
  return spawnSync('/bin/sh', [script], { env, encoding: 'utf8', timeout: 10_000 });
}

describe('docker/entrypoint-orchestrator.sh', () => {
  for (const mode of ['agent', 'legacy', 'hybrid']) {
    test(`mode ${mode} is logged and the service is exec'd with it`, () => {
      const result = run(mode);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`starting voice-orchestrator in ${mode} mode`));
      assert.match(result.stdout, new RegExp(`stand-in node: mode=${mode} cwd=${stand_in} args=--import tsx src/main.ts`));
    });
  }

  test('an unset mode defaults to agent', () => {
    const result = run(undefined);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /mode=agent/);
  });

  test('an unknown mode exits 1 with the valid list and never starts the service', () => {
    const result = run('turbo');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /invalid ORCHESTRATOR_MODE 'turbo'; valid modes: agent, legacy, hybrid, models/);
    assert.equal(result.stdout, '');
  });
});
