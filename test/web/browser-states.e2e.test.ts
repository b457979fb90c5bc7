/**
 * The page's failure states in real Chromium, against a real LiveKit server (no agent needed):
 * errors are explained in words, a dropped server shows "reconnecting", and the controls work
 * from the keyboard.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLiveKitServer, type LiveKitTestServer } from '../support/livekit-server.js';
import { freeTcpPort } from '../support/ports.js';
import { CHROMIUM, CHROMIUM_BASE_ARGS, startWeb, type RunningWeb } from '../support/web.js';

async function launch(dir: string, args: string[]): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error('Debian chromium is missing: run `bash scripts/setup/apt.sh`');
  return chromium.launchPersistentContext(await mkdtemp(join(dir, 'profile-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_BASE_ARGS, ...args],
    viewport: { width: 1024, height: 768 },
  });
}

const bannerText = (page: Page) => page.locator('#banner-text').textContent();

describe('web page states in Chromium', { timeout: 180_000 }, () => {
  let dir = '';
  let livekit: LiveKitTestServer;
  const servers: RunningWeb[] = [];
  const contexts: BrowserContext[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vo-web-states-'));
    livekit = await startLiveKitServer();
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    for (const server of servers) await server.stop();
    await livekit?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const web = async (env: Record<string, string>) => {
    const server = await startWeb({ LIVEKIT_URL: livekit.url, LIVEKIT_API_KEY: livekit.apiKey, LIVEKIT_API_SECRET: livekit.apiSecret, ...env });
    servers.push(server);
    return server;
  };
  const browser = async (args: string[]) => {
    const context = await launch(dir, args);
    contexts.push(context);
    return context;
  };

  test('connects with the keyboard only, meters the microphone and sends chat with Enter', async () => {
    const server = await web({});
    const page = await (await browser(['--use-fake-ui-for-media-stream'])).newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(server.baseUrl);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'connect', 'Connect is the first focus stop');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 });
    assert.equal(await page.locator('#connect').textContent(), 'Disconnect');
    assert.equal(await page.locator('#agent-state').textContent(), 'not here yet');
    // Chromium's fake microphone plays a beep: the meter must move.
    await page.waitForFunction(() => Number(document.getElementById('mic-level')?.dataset['peak']) > 0.3, undefined, { timeout: 15_000 });
    await page.locator('#chat-input').focus();
    await page.keyboard.type('hello from the keyboard');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#transcript li.msg.user >> text=hello from the keyboard', { timeout: 5000 });
    assert.equal(await page.locator('#chat-input').inputValue(), '');
    await page.locator('#mic').press('Enter');
    await page.waitForSelector('#mic[aria-pressed="true"]', { timeout: 5000 });
    assert.equal(await page.locator('#mic').textContent(), 'Unmute mic');
    await page.locator('#connect').press('Enter');
    await page.waitForSelector('body[data-connection="disconnected"]', { timeout: 10_000 });
    assert.ok(await page.locator('#banner').isHidden(), 'a disconnect the user asked for is not an error');
    assert.deepEqual(consoleErrors, [], 'no script errors and no Content-Security-Policy violations during a whole session');
  });

  test('explains a blocked microphone in words and keeps the text chat usable', async () => {
    const server = await web({});
    const page = await (await browser(['--deny-permission-prompts'])).newPage();
    await page.goto(server.baseUrl);
    await page.click('#connect');
    await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 });
    await page.waitForSelector('#banner:not([hidden])', { timeout: 10_000 });
    assert.match((await bannerText(page)) ?? '', /Microphone access was blocked/);
    assert.equal(await page.locator('#chat-input').isEnabled(), true);
    assert.equal(await page.locator('#mic').textContent(), 'Unmute mic');
  });

  test('shows the token endpoint refusal (missing credentials) as a visible error', async () => {
    const server = await web({ LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '' });
    const page = await (await browser(['--use-fake-ui-for-media-stream'])).newPage();
    await page.goto(server.baseUrl);
    await page.click('#connect');
    await page.waitForSelector('body[data-connection="error"]', { timeout: 10_000 });
    assert.match((await bannerText(page)) ?? '', /cannot start a conversation right now: LiveKit credentials are not configured/);
    assert.equal(await page.locator('#connect').textContent(), 'Connect', 'the user can try again');
  });

  test('shows an unreachable LiveKit server as a visible connection error', async () => {
    const server = await web({ LIVEKIT_URL: `ws://127.0.0.1:${await freeTcpPort()}` });
    const page = await (await browser(['--use-fake-ui-for-media-stream'])).newPage();
    await page.goto(server.baseUrl);
    await page.click('#connect');
    await page.waitForSelector('body[data-connection="error"]', { timeout: 30_000 });
    assert.match((await bannerText(page)) ?? '', /Could not reach the voice server/);
  });

  test('shows "reconnecting" while the LiveKit server is down and recovers or says what happened', async () => {
    const server = await web({});
    const page = await (await browser(['--use-fake-ui-for-media-stream'])).newPage();
    await page.goto(server.baseUrl);
    await page.click('#connect');
    await page.waitForSelector('body[data-connection="connected"]', { timeout: 20_000 });
    await livekit.halt({ hard: true });
    await page.waitForSelector('body[data-connection="reconnecting"]', { timeout: 20_000 });
    assert.equal(await page.locator('#connection-text').textContent(), 'Reconnecting…');
    assert.match((await bannerText(page)) ?? '', /Reconnecting/);
    await livekit.restart();
    // Either the session resumes, or the page ends it and says so; it never stays silently stuck.
    await page.waitForFunction(
      () =>
        document.body.dataset['connection'] === 'connected' ||
        (document.body.dataset['connection'] === 'disconnected' && !document.getElementById('banner')?.hidden),
      undefined,
      { timeout: 60_000 },
    );
  });
});
