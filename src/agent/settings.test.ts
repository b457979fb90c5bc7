import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { llmSettings, providerWarnings, resolveInstructions, sttSettings, voiceFromMetadata } from './settings.js';

// An empty folder: a developer's own .env must not leak into these cases.
const emptyDir = mkdtempSync(join(tmpdir(), 'vo-settings-'));
const configWith = (env: Record<string, string>) => loadConfig({ env, dir: emptyDir }).config;

describe('agent settings', () => {
  it('has no LLM and warns naming OPENAI_API_KEY and LLM_BASE_URL when neither is set', () => {
    const config = configWith({});
    assert.equal(llmSettings(config), undefined);
    const warnings = providerWarnings(config);
    assert.ok(warnings.some((w) => w.includes('OPENAI_API_KEY') && w.includes('LLM_BASE_URL')));
    assert.ok(warnings.some((w) => w.includes('STT_BASE_URL')));
  });

  it('uses a local OpenAI-compatible server without a key, naming its host', () => {
    const config = configWith({ LLM_BASE_URL: 'http://127.0.0.1:8000/v1', LLM_MODEL: 'smol' });
    assert.deepEqual(llmSettings(config), { model: 'smol', baseURL: 'http://127.0.0.1:8000/v1', apiKey: 'no-key-needed', provider: '127.0.0.1:8000' });
    assert.equal(sttSettings(config), undefined);
    assert.equal(providerWarnings(config).length, 1);
  });

  it('uses OpenAI itself when only the key is set', () => {
    const config = configWith({ OPENAI_API_KEY: 'sk-test-1234' });
    assert.equal(llmSettings(config)?.provider, 'api.openai.com');
    assert.equal(sttSettings(config)?.baseURL, undefined);
    assert.deepEqual(providerWarnings(config), []);
  });

  it('reads instructions from AGENT_INSTRUCTIONS_FILE over AGENT_INSTRUCTIONS, and names the variable when unreadable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vo-instr-'));
    try {
      const file = join(dir, 'instructions.txt');
      writeFileSync(file, '  Speak like a pirate.\n');
      assert.equal(resolveInstructions({ AGENT_INSTRUCTIONS: 'plain', AGENT_INSTRUCTIONS_FILE: file }), 'Speak like a pirate.');
      assert.equal(resolveInstructions({ AGENT_INSTRUCTIONS: 'plain', AGENT_INSTRUCTIONS_FILE: undefined }), 'plain');
      assert.throws(() => resolveInstructions({ AGENT_INSTRUCTIONS: 'plain', AGENT_INSTRUCTIONS_FILE: join(dir, 'missing') }), /AGENT_INSTRUCTIONS_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the voice from participant metadata first, then room metadata, ignoring anything malformed', () => {
    assert.equal(voiceFromMetadata('{"voice":"en_US-amy-low"}', '{"voice":"en_US-joe-medium"}'), 'en_US-amy-low');
    assert.equal(voiceFromMetadata('', '{"voice":"en_US-joe-medium"}'), 'en_US-joe-medium');
    assert.equal(voiceFromMetadata('not json', '{"voice":"../../etc/passwd"}'), undefined);
    assert.equal(voiceFromMetadata('{"voice":42}', undefined), undefined);
    assert.equal(voiceFromMetadata('{"voice":".hidden"}'), undefined);
    assert.equal(voiceFromMetadata(undefined, '[]'), undefined);
  });
});
