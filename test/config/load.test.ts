import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../src/config/load.js';
import { MODES, VARIABLES } from '../../src/config/schema.js';
import { speechThreadSpinning } from '../../src/speech/host.js';

const dirs: string[] = [];
function envDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vo-config-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration layers', () => {
  test('later layers override earlier ones: .env.defaults < .env < .env.local < environment', () => {
    const dir = envDir({
      '.env.defaults': 'LEGACY_PORT=1001\nHEALTH_PORT=2001\nWEB_PORT=3001\nAGENT_NAME=from-defaults\n',
      '.env': 'HEALTH_PORT=2002\nWEB_PORT=3002\nAGENT_NAME=from-env-file\n',
      '.env.local': 'WEB_PORT=3003\nAGENT_NAME=from-local\n',
    });
    const { config, provenance } = loadConfig({ dir, env: { AGENT_NAME: 'from-process' } });
    assert.equal(config.LEGACY_PORT, 1001);
    assert.equal(provenance.LEGACY_PORT, '.env.defaults');
    assert.equal(config.HEALTH_PORT, 2002);
    assert.equal(provenance.HEALTH_PORT, '.env');
    assert.equal(config.WEB_PORT, 3003);
    assert.equal(provenance.WEB_PORT, '.env.local');
    assert.equal(config.AGENT_NAME, 'from-process');
    assert.equal(provenance.AGENT_NAME, 'environment');
  });

  test('a variable no layer sets falls back to the schema default', () => {
    const { config, provenance } = loadConfig({ dir: envDir({}), env: {} });
    assert.equal(config.ORCHESTRATOR_MODE, 'agent');
    assert.equal(provenance.ORCHESTRATOR_MODE, 'built-in default');
    assert.equal(config.OPENAI_API_KEY, undefined);
    assert.equal(provenance.OPENAI_API_KEY, 'unset');
  });

  test('the result is typed and frozen', () => {
    const { config } = loadConfig({ dir: envDir({}), env: { TTS_WARMUP: 'false', LEGACY_ALLOWED_ORIGINS: 'http://a, http://b' } });
    assert.equal(config.TTS_WARMUP, false);
    assert.deepEqual(config.LEGACY_ALLOWED_ORIGINS, ['http://a', 'http://b']);
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as Record<string, unknown>).HEALTH_PORT = 1;
    }, TypeError);
  });

  test('TTS_THREAD_SPINNING is auto by default, or a boolean; auto spins only in legacy mode', () => {
    const spinning = (value: string | undefined) =>
      loadConfig({ dir: envDir({}), env: value === undefined ? {} : { TTS_THREAD_SPINNING: value } }).config.TTS_THREAD_SPINNING;
    assert.equal(spinning(undefined), 'auto');
    assert.equal(spinning(' Auto '), 'auto');
    assert.equal(spinning('1'), true);
    assert.equal(spinning('false'), false);
    for (const mode of MODES) {
      assert.equal(speechThreadSpinning('auto', mode), mode === 'legacy', mode);
      assert.equal(speechThreadSpinning(true, mode), true);
      assert.equal(speechThreadSpinning(false, mode), false);
    }
  });

  test('an empty value unsets an optional variable', () => {
    const { config } = loadConfig({ dir: envDir({ '.env': 'LLM_BASE_URL=http://127.0.0.1:1/v1\n' }), env: { LLM_BASE_URL: '' } });
    assert.equal(config.LLM_BASE_URL, undefined);
  });
});

describe('configuration errors name the variable, the value and the accepted form', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['ORCHESTRATOR_MODE', 'turbo', /one of agent, legacy, hybrid, models/],
    ['HEALTH_PORT', '70000', /an integer between 0 and 65535/],
    ['LEGACY_PORT', '-1', /an integer between 0 and 65535/],
    ['LEGACY_MAX_CONNECTIONS', 'many', /an integer between 1 and 100000/],
    ['LEGACY_RATE_LIMIT_PER_SEC', 'fast', /a number between/],
    ['LOG_LEVEL', 'loud', /one of fatal, error, warn, info, debug, trace, silent/],
    ['LOG_FORMAT', 'xml', /one of json, pretty/],
    ['LIVEKIT_URL', 'not a url', /a URL starting with ws:\/\//],
    ['LLM_BASE_URL', 'ftp://host/v1', /a URL starting with http:\/\/ or https:\/\//],
    ['TTS_WARMUP', 'maybe', /true or false/],
    ['TTS_THREAD_SPINNING', 'sometimes', /auto, true or false/],
    ['AGENT_NAME', '   ', /a non-empty value/],
    ['SHUTDOWN_TIMEOUT_MS', '1.5', /an integer/],
  ];
  for (const [name, value, expected] of cases) {
    test(`${name}=${JSON.stringify(value)} is rejected`, () => {
      const err = configError(() => loadConfig({ dir: envDir({}), env: { [name]: value } }));
      assert.equal(err.issues.length, 1);
      const [issue] = err.issues;
      assert.equal(issue?.variable, name);
      assert.match(err.message, new RegExp(`${name}=${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(err.message, /from environment/);
      assert.match(err.message, expected);
    });
  }

  test('every invalid variable is reported at once, with the layer it came from', () => {
    const err = configError(() => loadConfig({ dir: envDir({ '.env.local': 'WEB_PORT=abc\n' }), env: { HEALTH_PORT: '0x10' } }));
    assert.deepEqual(err.issues.map((i) => [i.variable, i.layer]).sort(), [
      ['HEALTH_PORT', 'environment'],
      ['WEB_PORT', '.env.local'],
    ]);
  });
});

describe('safe defaults', () => {
  const load = (env: Record<string, string>) => loadConfig({ dir: envDir({}), env });

  test('every server binds to loopback by default', () => {
    const { config } = load({});
    assert.equal(config.HEALTH_HOST, '127.0.0.1');
    assert.equal(config.LEGACY_HOST, '127.0.0.1');
    assert.equal(config.WEB_HOST, '127.0.0.1');
    assert.equal(config.LEGACY_ALLOW_ANONYMOUS, false);
  });

  test('the public LiveKit dev secret is refused unless LIVEKIT_URL is this machine, naming the variables to set', () => {
    for (const url of ['ws://127.0.0.1:7880', 'ws://localhost:7880', 'ws://[::1]:7880', 'http://127.0.0.2:7880']) {
      assert.doesNotThrow(() => load({ LIVEKIT_URL: url }), url);
    }
    for (const mode of ['agent', 'hybrid']) {
      const err = configError(() => load({ ORCHESTRATOR_MODE: mode, LIVEKIT_URL: 'wss://lk.example.com', LEGACY_AUTH_TOKEN: 'a'.repeat(16) }));
      assert.deepEqual(
        err.issues.map((i) => i.variable),
        ['LIVEKIT_API_SECRET'],
      );
      assert.match(err.message, /LIVEKIT_API_SECRET=\*+ \(set, 6 chars\) \(from built-in default\)/);
      assert.match(err.message, /LIVEKIT_URL/);
      assert.match(err.message, /set LIVEKIT_API_KEY and LIVEKIT_API_SECRET/);
      assert.match(err.message, /not lk\.example\.com/);
    }
    assert.doesNotThrow(() => load({ LIVEKIT_URL: 'ws://0.0.0.0:7880', LIVEKIT_API_SECRET: 'a-real-secret-0123456789abcdef0123' }));
    assert.throws(() => load({ LIVEKIT_URL: 'ws://0.0.0.0:7880' }), ConfigError, '0.0.0.0 is not loopback');
    assert.doesNotThrow(() => load({ ORCHESTRATOR_MODE: 'legacy', LIVEKIT_URL: 'wss://lk.example.com' }), 'legacy mode does not use LiveKit');
  });

  test('a legacy server on a non-loopback address needs LEGACY_AUTH_TOKEN or an explicit LEGACY_ALLOW_ANONYMOUS', () => {
    for (const mode of ['legacy', 'hybrid']) {
      const err = configError(() => load({ ORCHESTRATOR_MODE: mode, LEGACY_HOST: '0.0.0.0' }));
      assert.deepEqual(
        err.issues.map((i) => i.variable),
        ['LEGACY_AUTH_TOKEN'],
      );
      assert.match(err.message, /LEGACY_HOST=0\.0\.0\.0 is not a loopback address/);
      assert.match(err.message, /LEGACY_ALLOW_ANONYMOUS=true/);
      assert.doesNotThrow(() => load({ ORCHESTRATOR_MODE: mode, LEGACY_HOST: '0.0.0.0', LEGACY_AUTH_TOKEN: 'k3y-0123456789abcdef' }));
      assert.doesNotThrow(() => load({ ORCHESTRATOR_MODE: mode, LEGACY_HOST: '0.0.0.0', LEGACY_ALLOW_ANONYMOUS: 'true' }));
      assert.doesNotThrow(() => load({ ORCHESTRATOR_MODE: mode, LEGACY_HOST: '::1' }));
    }
    assert.doesNotThrow(() => load({ ORCHESTRATOR_MODE: 'agent', LEGACY_HOST: '0.0.0.0' }), 'agent mode runs no legacy server');
  });

  test('blank, padded or short tokens are refused without showing them; empty means unset', () => {
    for (const value of ['   ', 'short', ' padded-token-0123456789 ', 'has spaces in the middle of it', 'tab\there-0123456789']) {
      const err = configError(() => load({ LEGACY_AUTH_TOKEN: value }));
      assert.equal(err.issues[0]?.variable, 'LEGACY_AUTH_TOKEN');
      assert.match(err.message, /at least 16 visible characters/);
      assert.ok(!err.message.includes(value.trim()) || value.trim() === '', 'the token is not in the message');
      assert.ok(!JSON.stringify(err.issues).includes(value.trim()) || value.trim() === '', 'nor in the issues');
    }
    assert.equal(load({ LEGACY_AUTH_TOKEN: '' }).config.LEGACY_AUTH_TOKEN, undefined);
    assert.equal(load({ LEGACY_AUTH_TOKEN: 'abcdefghijklmnop' }).config.LEGACY_AUTH_TOKEN, 'abcdefghijklmnop');
  });
});

describe('committed defaults and docs match the schema', () => {
  test('.env.defaults sets exactly the schema defaults, and lists every variable', () => {
    const text = readFileSync(join(PROJECT_ROOT, '.env.defaults'), 'utf8');
    const set = parseDotenv(text);
    const mentioned = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] ?? ''));
    for (const [name, spec] of Object.entries(VARIABLES)) {
      assert.ok(mentioned.has(name), `${name} missing from .env.defaults`);
      assert.equal(set[name], 'default' in spec ? spec.default : undefined, `${name} default differs`);
    }
    for (const name of mentioned) assert.ok(name in VARIABLES, `.env.defaults names ${name}, which the code never reads`);
  });

  test('the README configuration table documents every variable with its default', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const rows = new Map([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((m) => [m[1] ?? '', (m[2] ?? '').trim()]));
    for (const [name, spec] of Object.entries(VARIABLES)) {
      assert.ok(rows.has(name), `${name} is not in the README configuration table`);
      const shown = rows.get(name);
      const expected = 'default' in spec && spec.default !== '' ? `\`${spec.default}\`` : '';
      assert.equal(shown, expected, `README default of ${name}`);
    }
    for (const name of rows.keys()) assert.ok(name in VARIABLES, `README documents ${name}, which the code never reads`);
  });
});
