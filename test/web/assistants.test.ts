import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TokenVerifier } from 'livekit-server-sdk';
import { AssistantsSource } from '../../src/assistants/watch.js';
import type { AssistantsProvider, WebComponent } from '../../src/web/index.js';
import { put, scratch, startWebWithAssistants, TWO_ASSISTANTS_YAML } from '../assistants/support.js';

const API_KEY = 'assistants-key';
const API_SECRET = 'web-assistants-test-secret-0123456789abcdef';
const verifier = new TokenVerifier(API_KEY, API_SECRET);

const ENV = { LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET, AGENT_NAME: 'test-agent', AGENT_GREETING: 'Hi there.' };
const startWeb = (assistants?: AssistantsProvider) => startWebWithAssistants(ENV, assistants);

async function token(base: string, body: unknown): Promise<{ status: number; payload: Record<string, string> }> {
  const response = await fetch(`${base}/api/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, payload: (await response.json()) as Record<string, string> };
}

/** The agent the token of a 200 answer dispatches. */
async function dispatched(payload: Record<string, string>): Promise<string | undefined> {
  const claims = await verifier.verify(payload['participantToken'] ?? '');
  assert.equal(claims.roomConfig?.agents.length, 1);
  return claims.roomConfig?.agents[0]?.agentName;
}

describe('web: several assistants', () => {
  let roster: Array<{ name: string; greeting: string; instructions: string }>;
  let base: string;
  let web: WebComponent;
  before(async () => {
    roster = [
      { name: 'receptionist', greeting: 'Hello, reception here.', instructions: 'SECRET-PROMPT-1' },
      { name: 'support', greeting: '', instructions: 'SECRET-PROMPT-2' },
    ];
    ({ base, web } = await startWeb(() => roster));
  });
  after(() => web.stop(Date.now() + 2000));

  test('GET /api/assistants lists names and greetings for the page, the first as default, never instructions', async () => {
    const response = await fetch(`${base}/api/assistants`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const text = await response.text();
    assert.deepEqual(JSON.parse(text), {
      assistants: [{ name: 'receptionist', greeting: 'Hello, reception here.' }, { name: 'support' }],
      default: 'receptionist',
    });
    assert.ok(!text.includes('SECRET-PROMPT'));
    assert.equal((await fetch(`${base}/api/assistants`, { method: 'POST' })).status, 405);
  });

  test('POST /api/token dispatches the assistant asked for, else the first one', async () => {
    const chosen = await token(base, { assistant: 'support' });
    assert.equal(chosen.status, 200);
    assert.equal(await dispatched(chosen.payload), 'support');
    const byDefault = await token(base, {});
    assert.equal(await dispatched(byDefault.payload), 'receptionist');
  });

  test("LiveKit's TokenSource body (room_config naming the agent) picks an assistant too; both ways must agree", async () => {
    const viaRoomConfig = await token(base, { room_config: { agents: [{ agent_name: 'support', metadata: '{"x":1}' }] } });
    assert.equal(viaRoomConfig.status, 200);
    assert.equal(await dispatched(viaRoomConfig.payload), 'support');
    const same = await token(base, { assistant: 'support', room_config: { agents: [{ agent_name: 'support' }] } });
    assert.equal(same.status, 200);
    const differ = await token(base, { assistant: 'receptionist', room_config: { agents: [{ agent_name: 'support' }] } });
    assert.deepEqual(differ, {
      status: 400,
      payload: { error: 'assistant and room_config.agents.0.agent_name name different assistants', code: 'INVALID_REQUEST' },
    });
  });

  test('an assistant that is not configured is refused with 400 UNKNOWN_ASSISTANT, listing the configured names only', async () => {
    const unknown = await token(base, { assistant: 'test-agent' });
    assert.deepEqual(unknown, {
      status: 400,
      payload: { error: 'assistant: not one of the assistants this server runs (receptionist, support)', code: 'UNKNOWN_ASSISTANT' },
    });
    const agent = await token(base, { room_config: { agents: [{ agent_name: 'other' }] } });
    assert.equal(agent.status, 400);
    assert.equal(agent.payload['code'], 'UNKNOWN_AGENT');
    const wrongType = await token(base, { assistant: 7 });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.payload['code'], 'INVALID_REQUEST');
    assert.match(wrongType.payload['error'] ?? '', /^assistant: the name of an assistant/);
  });

  test('the list is asked at every request: a reload applies to the next token; none left answers 503', async () => {
    const previous = roster;
    try {
      roster = [{ name: 'night-shift', greeting: '', instructions: '' }];
      assert.equal(await dispatched((await token(base, {})).payload), 'night-shift');
      assert.equal((await token(base, { assistant: 'support' })).payload['code'], 'UNKNOWN_ASSISTANT');
      roster = [];
      const none = await token(base, {});
      assert.equal(none.status, 503);
      assert.equal(none.payload['code'], 'UNAVAILABLE');
      assert.deepEqual(await (await fetch(`${base}/api/assistants`)).json(), { assistants: [] });
    } finally {
      roster = previous;
    }
  });
});

describe('web: the single assistant of AGENT_NAME (no assistants file)', () => {
  let base: string;
  let web: WebComponent;
  before(async () => {
    ({ base, web } = await startWeb(() => undefined));
  });
  after(() => web.stop(Date.now() + 2000));

  test('lists AGENT_NAME with AGENT_GREETING; accepts assistant only when it is AGENT_NAME', async () => {
    assert.deepEqual(await (await fetch(`${base}/api/assistants`)).json(), {
      assistants: [{ name: 'test-agent', greeting: 'Hi there.' }],
      default: 'test-agent',
    });
    const named = await token(base, { assistant: 'test-agent' });
    assert.equal(named.status, 200);
    assert.equal(await dispatched(named.payload), 'test-agent');
    const other = await token(base, { assistant: 'receptionist' });
    assert.deepEqual(other, { status: 400, payload: { error: 'assistant: this server runs only the assistant "test-agent"', code: 'UNKNOWN_ASSISTANT' } });
  });
});

describe('web: fed by the assistants file', () => {
  test('the page lists the assistants of the file, and an edit applies to the next token without a restart', async () => {
    const { dir, cleanup } = await scratch();
    const source = new AssistantsSource({ file: 'assistants.yaml', voicesDir: 'voices', cwd: dir, env: {}, watch: false });
    const file = await put(join(dir, 'assistants.yaml'), TWO_ASSISTANTS_YAML);
    await put(join(dir, 'prompts', 'support.md'), 'You are support.');
    await source.start();
    const { base, web } = await startWeb(() => source.current().assistants);
    try {
      const listing = (await (await fetch(`${base}/api/assistants`)).json()) as { assistants: Array<{ name: string }> };
      assert.deepEqual(
        listing.assistants.map((a) => a.name),
        ['receptionist', 'support'],
      );
      await writeFile(file, TWO_ASSISTANTS_YAML.replace('name: support', 'name: sales'));
      assert.equal((await source.reload()).result, 'changed');
      assert.equal(await dispatched((await token(base, { assistant: 'sales' })).payload), 'sales');
      assert.equal((await token(base, { assistant: 'support' })).payload['code'], 'UNKNOWN_ASSISTANT');
    } finally {
      source.stop();
      await web.stop(Date.now() + 2000);
      await cleanup();
    }
  });
});
