import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/ops/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, stream };
}

test('configured secrets never reach the log output, in fields, messages or errors', () => {
  const apiKey = 'sk-live-abcdefghijklmnopqrstuvwxyz012345';
  const authToken = 'legacy-token-9876543210';
  const { lines, stream } = capture();
  const logger = createLogger({ LOG_LEVEL: 'trace', LOG_FORMAT: 'json', OPENAI_API_KEY: apiKey, LEGACY_AUTH_TOKEN: authToken }, stream);
  logger.info({ OPENAI_API_KEY: apiKey }, 'field by variable name');
  logger.info({ provider: { apiKey, baseURL: 'http://x' } }, 'nested apiKey');
  logger.info({ token: authToken, headers: { authorization: `Bearer ${authToken}` } }, 'token fields');
  logger.warn(`message mentioning ${apiKey} inline`);
  logger.error({ err: new Error(`request failed with key ${apiKey}`) }, 'error object');
  const out = lines.join('');
  assert.equal(lines.length, 5);
  assert.ok(!out.includes(apiKey), `API key leaked: ${out}`);
  assert.ok(!out.includes(authToken), `auth token leaked: ${out}`);
  assert.match(out, /\[REDACTED\]/);
  assert.match(out, /"baseURL":"http:\/\/x"/, 'non-secret fields are kept');
});

test('LOG_LEVEL filters lower levels', () => {
  const { lines, stream } = capture();
  const logger = createLogger({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }, stream);
  logger.info('hidden');
  logger.warn('shown');
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? '', /"msg":"shown"/);
});
