/**
 * The page's assistant selector in real Chromium: it lists the configured assistants, and the
 * token the page gets dispatches the one chosen. No LiveKit server is needed: the page asks for
 * the token first (what is checked here); its connection to the closed LIVEKIT_URL then fails.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TokenVerifier } from 'livekit-server-sdk';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { WebComponent } from '../../src/web/index.js';
import { startWebWithAssistants } from '../assistants/support.js';
import { freeTcpPort } from '../support/ports.js';
import { CHROMIUM, CHROMIUM_BASE_ARGS } from '../support/web.js';

const API_KEY = 'browser-assistants-key';
const API_SECRET = 'browser-assistants-test-secret-0123456789';

describe('web page: choosing an assistant', { timeout: 120_000 }, () => {
  let dir = '';
  let context: BrowserContext;
  let env: Record<string, string>;
  const webs: WebComponent[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error('Debian chromium is missing: run `bash scripts/setup/apt.sh`');
    dir = await mkdtemp(join(tmpdir(), 'vo-web-assistants-browser-'));
    // Nothing listens there: the page's LiveKit connection fails after the token request.
    env = { LIVEKIT_URL: `ws://127.0.0.1:${await freeTcpPort()}`, LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET, AGENT_NAME: 'test-agent' };
    context = await chromium.launchPersistentContext(await mkdtemp(join(dir, 'profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_BASE_ARGS, '--use-fake-ui-for-media-stream'],
    });
  });
  after(async () => {
    await context?.close().catch(() => undefined);
    for (const web of webs) await web.stop(Date.now() + 2000);
    await rm(dir, { recursive: true, force: true });
  });

  /** Serves the page; `roster` is read at every request, so changing it is what a reload does. */
  const serve = async (roster?: Array<{ name: string; greeting: string }>) => {
    const { web, base } = await startWebWithAssistants(env, roster ? () => roster : undefined);
    webs.push(web);
    return base;
  };

  /** Clicks Connect and returns the body the page sent to /api/token and the agent its token dispatches. */
  const connect = async (page: Page) => {
    const [request] = await Promise.all([page.waitForRequest('**/api/token'), page.click('#connect')]);
    const response = await request.response();
    assert.equal(response?.status(), 200);
    const { participantToken } = (await response!.json()) as { participantToken: string };
    const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(participantToken);
    return { sent: JSON.parse(request.postData() ?? '{}') as Record<string, unknown>, dispatched: claims.roomConfig?.agents[0]?.agentName };
  };

  test('lists the assistants with the default selected; the chosen one is sent and dispatched; the list follows the server', async () => {
    const roster = [
      { name: 'receptionist', greeting: 'Hello, reception here.' },
      { name: 'support', greeting: '' },
    ];
    const base = await serve(roster);
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('#assistant-picker:not([hidden])');
    assert.deepEqual(await page.locator('#assistant option').allTextContents(), ['receptionist', 'support']);
    assert.equal(await page.locator('#assistant').inputValue(), 'receptionist');
    assert.equal(await page.locator('#assistant option').first().getAttribute('title'), 'Hello, reception here.');
    await page.selectOption('#assistant', 'support');
    const { sent, dispatched } = await connect(page);
    assert.equal(sent['assistant'], 'support');
    assert.equal(dispatched, 'support');
    await page.waitForSelector('body[data-connection="error"]'); // no LiveKit server, as intended

    // The assistants file changed meanwhile: the refused request brings the new list.
    roster.splice(1, 1, { name: 'sales', greeting: '' });
    const [refused] = await Promise.all([page.waitForResponse('**/api/token'), page.click('#connect')]);
    assert.equal(refused.status(), 400);
    await page.waitForFunction(() => Array.from((document.getElementById('assistant') as HTMLSelectElement).options).some((o) => o.value === 'sales'));
    assert.deepEqual(await page.locator('#assistant option').allTextContents(), ['receptionist', 'sales']);
    assert.equal(await page.locator('#assistant').inputValue(), 'receptionist');
    await page.close();
  });

  test('?assistant=NAME preselects it', async () => {
    const base = await serve([
      { name: 'receptionist', greeting: '' },
      { name: 'support', greeting: '' },
    ]);
    const page = await context.newPage();
    await page.goto(`${base}/?assistant=support`);
    await page.waitForSelector('#assistant-picker:not([hidden])');
    assert.equal(await page.locator('#assistant').inputValue(), 'support');
    assert.equal((await connect(page)).dispatched, 'support');
    await page.close();
  });

  test('with a single assistant (AGENT_NAME, no file) there is no selector and AGENT_NAME is dispatched', async () => {
    const base = await serve();
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForFunction(() => (document.getElementById('assistant') as HTMLSelectElement | null)?.options.length === 1);
    assert.equal(await page.locator('#assistant-picker').isHidden(), true);
    assert.equal((await connect(page)).dispatched, 'test-agent');
    await page.close();
  });
});
