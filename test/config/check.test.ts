import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { put, scratch, TWO_ASSISTANTS_YAML } from '../assistants/support.js';

function check(env: Record<string, string>, args: string[] = []) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/config/check.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('config:check', () => {
  test('prints every value with its layer and masks secrets', () => {
    const secret = 'sk-test-0123456789abcdefghij';
    const result = check({
      OPENAI_API_KEY: secret,
      LEGACY_AUTH_TOKEN: 'hunter2-token-0123456789',
      HEALTH_PORT: '9191',
      LLM_BASE_URL: 'https://llm-user:llm-pass-42@llm.example.com/v1?api_key=url-key-77&model=x',
      STT_BASE_URL: 'http://127.0.0.1:8000/v1?token=stt-token-99',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^HEALTH_PORT\s+9191\s+environment$/m);
    assert.match(result.stdout, /^ORCHESTRATOR_MODE\s+agent\s+\.env\.defaults$/m);
    assert.match(result.stdout, /^OPENAI_API_KEY\s+\*+ \(set, \d+ chars\)\s+environment$/m);
    assert.ok(!result.stdout.includes(secret), 'API key printed');
    assert.ok(!result.stdout.includes('hunter2-token'), 'auth token printed');
    assert.match(result.stdout, /^LLM_BASE_URL\s+https:\/\/\*\*\*@llm\.example\.com\/v1\?api_key=\*\*\*&model=x\s+environment$/m);
    assert.match(result.stdout, /^STT_BASE_URL\s+http:\/\/127\.0\.0\.1:8000\/v1\?token=\*\*\*\s+environment$/m);
    for (const leaked of ['llm-user', 'llm-pass-42', 'url-key-77', 'stt-token-99']) assert.ok(!result.stdout.includes(leaked), `${leaked} printed`);
  });

  test('error messages mask secrets and credentials inside URLs too', () => {
    const result = check({ LEGACY_AUTH_TOKEN: 'short-tok', LLM_BASE_URL: 'ftp://someone:pw-123456@llm.example.com/v1?token=zz-top' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /LEGACY_AUTH_TOKEN=\*+ \(set, 9 chars\) \(from environment\); expected a token of at least 16/);
    assert.match(result.stderr, /LLM_BASE_URL="ftp:\/\/\*\*\*@llm\.example\.com\/v1\?token=\*\*\*"/);
    for (const leaked of ['short-tok', 'someone', 'pw-123456', 'zz-top']) assert.ok(!result.stderr.includes(leaked), `${leaked} in the error`);
  });

  test('with ASSISTANTS_FILE: prints the effective assistants after the variables, keys only as variable names', async () => {
    const { dir, voicesDir, cleanup } = await scratch();
    try {
      await put(join(dir, 'assistants.yaml'), TWO_ASSISTANTS_YAML);
      await put(join(dir, 'prompts', 'support.md'), 'You are support.');
      const file = join(dir, 'assistants.yaml');
      const result = check({ ASSISTANTS_FILE: file, VOICES_DIR: voicesDir, OPENAI_API_KEY: 'sk-test-0123456789abcdefghij' });
      assert.equal(result.status, 0, result.stderr);
      const table = result.stdout.indexOf('WEB_TOKEN_RATE_LIMIT_PER_MIN');
      const listing = result.stdout.indexOf(`assistants file ${file}: 2 assistants`);
      assert.ok(table > 0 && listing > table, 'the assistants come after the variables');
      assert.match(
        result.stdout,
        /^ {4}llm +my-vllm \(openai-compatible qwen http:\/\/127\.0\.0\.1:8000\/v1\) -> openai-mini \(openai gpt-4\.1-mini\) -> local \(local\)$/m,
      );
      assert.match(result.stdout, /^warning: profiles\.my-vllm: the environment variable VLLM_KEY \(api_key_env\) is not set/m);
      assert.doesNotMatch(result.stdout, /warning: profiles\.openai-mini/, 'OPENAI_API_KEY is set');
      assert.match(result.stdout, /configuration is valid\n$/);
      assert.ok(!result.stdout.includes('sk-test-0123456789'), 'key printed');
    } finally {
      await cleanup();
    }
  });

  test('with an invalid ASSISTANTS_FILE: exits non-zero with every message, --quiet too', async () => {
    const { dir, voicesDir, cleanup } = await scratch();
    try {
      const file = await put(
        join(dir, 'assistants.yaml'),
        TWO_ASSISTANTS_YAML.replace('llm: openai-mini', 'llm: gpt-5').replace('stt: local\n    max_sessions', 'stt: nope\n    max_sessions'),
      );
      for (const args of [[], ['--quiet']]) {
        const result = check({ ASSISTANTS_FILE: file, VOICES_DIR: voicesDir }, args);
        assert.equal(result.status, 1, args.join(' '));
        assert.match(result.stderr, /^invalid assistants file .*assistants\.yaml:$/m);
        assert.match(result.stderr, /^ {2}assistants\[0\]\.stt = "nope": expected the name of a profile under profiles \(local, openai-mini, my-vllm\)$/m);
        assert.match(result.stderr, /^ {2}assistants\[1\]\.llm = "gpt-5": expected the name of a profile/m);
        assert.match(result.stderr, /^ {2}assistants\[1\]\.instructions_file = "prompts\/support\.md": .*not found/m);
        assert.doesNotMatch(result.stdout, /configuration is valid/);
      }
    } finally {
      await cleanup();
    }
  });

  test('exits non-zero naming the invalid variable', () => {
    const result = check({ LEGACY_PORT: '123456' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /LEGACY_PORT="123456" \(from environment\); expected an integer between 0 and 65535/);
  });
});
