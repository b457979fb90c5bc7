import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import {
  chatGate,
  type ConversationEnd,
  ConversationWatchdog,
  llmSettings,
  providerWarnings,
  readBoundedText,
  resolveInstructions,
  sttSettings,
  voiceFromMetadata,
} from '../../src/agent/settings.js';

// An empty folder: a developer's own .env must not leak into these cases.
const emptyDir = mkdtempSync(join(tmpdir(), 'vo-settings-'));
const configWith = (env: Record<string, string>) => loadConfig({ env, dir: emptyDir }).config;

describe('agent settings', () => {
  it('uses the local models when nothing is configured (LLM_PROVIDER=auto, STT_PROVIDER=auto)', () => {
    const config = configWith({});
    assert.deepEqual(llmSettings(config), {
      model: 'qwen2.5-coder-0.5b-instruct-q4_k_m',
      baseURL: 'http://127.0.0.1:8091/v1',
      apiKey: 'no-key-needed',
      provider: 'local 127.0.0.1:8091',
    });
    assert.equal(sttSettings(config)?.baseURL, 'http://127.0.0.1:8092/v1');
    assert.equal(sttSettings(config)?.model, 'moonshine-tiny-en');
    assert.deepEqual(providerWarnings(config), []);
    const moved = configWith({ LOCAL_MODELS_HOST: '0.0.0.0', LOCAL_LLM_PORT: '9001' });
    assert.equal(llmSettings(moved)?.baseURL, 'http://127.0.0.1:9001/v1', 'a wildcard bind is reached on loopback');
  });

  it('turns a provider off with `none`, and warns naming the variable', () => {
    const config = configWith({ LLM_PROVIDER: 'none', STT_PROVIDER: 'none' });
    assert.equal(llmSettings(config), undefined);
    assert.equal(sttSettings(config), undefined);
    const warnings = providerWarnings(config);
    assert.ok(warnings.some((w) => w.includes('LLM_PROVIDER=none')));
    assert.ok(warnings.some((w) => w.includes('STT_PROVIDER=none')));
  });

  it('uses an OpenAI-compatible server without a key, naming its host; the other provider stays local', () => {
    const config = configWith({ LLM_BASE_URL: 'http://127.0.0.1:8000/v1', LLM_MODEL: 'smol' });
    assert.deepEqual(llmSettings(config), { model: 'smol', baseURL: 'http://127.0.0.1:8000/v1', apiKey: 'no-key-needed', provider: '127.0.0.1:8000' });
    assert.equal(sttSettings(config)?.provider, 'local 127.0.0.1:8092');
  });

  it('uses OpenAI itself when only the key is set, unless a provider is pinned to local', () => {
    const config = configWith({ OPENAI_API_KEY: 'sk-test-1234' });
    assert.equal(llmSettings(config)?.provider, 'api.openai.com');
    assert.equal(sttSettings(config)?.baseURL, undefined);
    assert.deepEqual(providerWarnings(config), []);
    assert.equal(llmSettings(configWith({ OPENAI_API_KEY: 'sk-test-1234', LLM_PROVIDER: 'local' }))?.provider, 'local 127.0.0.1:8091');
  });

  it('refuses LLM_PROVIDER=openai with neither a key nor a server, naming both', () => {
    assert.throws(() => configWith({ LLM_PROVIDER: 'openai' }), /LLM_PROVIDER.*OPENAI_API_KEY.*LLM_BASE_URL/s);
    assert.throws(() => configWith({ STT_PROVIDER: 'openai' }), /STT_PROVIDER.*OPENAI_API_KEY.*STT_BASE_URL/s);
    assert.throws(() => configWith({ LOCAL_STT_PORT: '8091' }), /LOCAL_STT_PORT/);
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

describe('conversation limits', () => {
  it('admits typed chat up to the per-minute rate, refilled evenly over the minute', () => {
    let now = 0;
    const gate = chatGate(3, () => now);
    assert.deepEqual([gate.tryTake(), gate.tryTake(), gate.tryTake(), gate.tryTake()], [true, true, true, false]);
    now += 10_000; // a third of a token back
    assert.equal(gate.tryTake(), false);
    now += 10_000; // 2/3 + 1/3 = one token
    assert.equal(gate.tryTake(), true);
    now += 10 * 60_000; // never more than the burst
    assert.deepEqual([gate.tryTake(), gate.tryTake(), gate.tryTake(), gate.tryTake()], [true, true, true, false]);
  });

  it('reads a chat stream up to the limit and stops reading (closing the stream) as soon as it is longer', async () => {
    async function* chunks(parts: string[], state: { pulled: number; closed: boolean }) {
      try {
        for (const part of parts) {
          state.pulled += 1;
          yield part;
        }
      } finally {
        state.closed = true;
      }
    }
    const ok = { pulled: 0, closed: false };
    assert.equal(await readBoundedText(chunks(['hello ', 'there'], ok), 11), 'hello there');
    const long = { pulled: 0, closed: false };
    assert.equal(await readBoundedText(chunks(['x'.repeat(8), 'y'.repeat(8), 'never read', 'never read'], long), 10), undefined);
    assert.equal(long.pulled, 2, 'stopped at the chunk that crossed the limit');
    assert.ok(long.closed, 'the stream was closed');
  });

  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('ends a room nobody joins, once, after the away timeout', async () => {
    const ends: ConversationEnd[] = [];
    const dog = new ConversationWatchdog({ awayMs: 60, maxMs: 10_000, onEnd: (r) => ends.push(r) });
    dog.start();
    await wait(150);
    assert.deepEqual(ends, ['no_participant']);
    assert.ok(dog.hasEnded);
    dog.userAway();
    assert.deepEqual(ends, ['no_participant'], 'ends only once');
  });

  it('keeps a room with a user, and ends it when the user has been gone for the away timeout', async () => {
    const ends: ConversationEnd[] = [];
    const dog = new ConversationWatchdog({ awayMs: 80, maxMs: 10_000, onEnd: (r) => ends.push(r) });
    dog.start();
    dog.usersPresent(1);
    await wait(150);
    assert.deepEqual(ends, [], 'a present user keeps the room');
    dog.usersPresent(0);
    await wait(40);
    dog.usersPresent(1); // came back in time (a reconnect)
    await wait(120);
    assert.deepEqual(ends, []);
    dog.usersPresent(0);
    await wait(150);
    assert.deepEqual(ends, ['no_participant']);
  });

  it('ends on the framework user-away state and at the maximum length, and stop() cancels everything', async () => {
    const away: ConversationEnd[] = [];
    const a = new ConversationWatchdog({ awayMs: 10_000, maxMs: 10_000, onEnd: (r) => away.push(r) });
    a.start();
    a.usersPresent(1);
    a.userAway();
    assert.deepEqual(away, ['user_away']);

    const long: ConversationEnd[] = [];
    const b = new ConversationWatchdog({ awayMs: 10_000, maxMs: 60, onEnd: (r) => long.push(r) });
    b.start();
    b.usersPresent(1);
    await wait(150);
    assert.deepEqual(long, ['max_duration']);

    const stopped: ConversationEnd[] = [];
    const c = new ConversationWatchdog({ awayMs: 30, maxMs: 30, onEnd: (r) => stopped.push(r) });
    c.start();
    c.stop();
    await wait(100);
    assert.deepEqual(stopped, []);
  });

  it('has bounded defaults for every conversation limit', () => {
    const config = configWith({});
    assert.equal(config.AGENT_USER_AWAY_TIMEOUT_MS, 300_000);
    assert.equal(config.AGENT_MAX_CONVERSATION_MS, 3_600_000);
    assert.equal(config.AGENT_MAX_CHAT_CHARS, 2000);
    assert.equal(config.AGENT_CHAT_RATE_PER_MIN, 20);
  });
});
