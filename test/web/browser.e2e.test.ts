/**
 * End to end in a real browser: Debian Chromium (playwright-core) opens the page served by the real
 * service (`src/main.ts`, agent mode) with the DEFAULT configuration (no provider settings at all, so
 * its own local Whisper and SmolLM2 answer), its fake microphone asks a factual question in speech, and
 * the page must show and play the correct answer. Only a LiveKit server (v1.13.5) runs beside it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { startDefaultService } from '../support/default-service.js';
import { LLM_APOLOGY, STT_APOLOGY } from '../../src/agent/settings.js';
import { peerCacheDir } from '../support/cache.js';
import type { PeerProcess } from '../support/child-process.js';
import { type LiveKitTestServer, startLiveKitServer } from '../support/livekit-server.js';
import { speak, speechToWav } from '../support/speech.js';
import { TEST_VOICE } from '../support/voices.js';
import { CHROMIUM, CHROMIUM_BASE_ARGS } from '../support/web.js';

const QUESTION = 'What is the capital of France?';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
// The fake microphone loops its file: the question, then a long pause, so a missed first turn
// (agent still starting) is asked again and an answer is not talked over.
const LEAD_SILENCE_MS = 1500;
const LOOP_PERIOD_MS = 30_000;

function chromiumArgs(wavPath: string): string[] {
  return [...CHROMIUM_BASE_ARGS, '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wavPath}`];
}

async function questionWav(dir: string): Promise<string> {
  const speech = await speak(QUESTION, { sampleRate: 48_000 });
  const total = Math.round((48_000 * LOOP_PERIOD_MS) / 1000);
  const lead = Math.round((48_000 * LEAD_SILENCE_MS) / 1000);
  const pcm = new Int16Array(total);
  pcm.set(speech.pcm.subarray(0, total - lead), lead);
  const path = join(dir, 'question.wav');
  await writeFile(path, speechToWav({ ...speech, pcm, durationMs: LOOP_PERIOD_MS }));
  return path;
}

function requirePeer(path: string, what: string, part: string): void {
  if (!existsSync(path)) throw new Error(`${what} is missing: run \`bash scripts/setup/${part}.sh\``);
}

describe('web page in Chromium against the service with its default (local) models', { timeout: 420_000 }, () => {
  let livekit: LiveKitTestServer | undefined;
  let service: PeerProcess | undefined;
  let context: BrowserContext | undefined;
  let workDir = '';
  let webUrl = '';
  const pageErrors: string[] = [];

  before(async () => {
    requirePeer(CHROMIUM, 'Debian chromium', 'apt');
    requirePeer(join(peerCacheDir(), 'voices', `${TEST_VOICE}.onnx`), `Piper voice ${TEST_VOICE}`, 'voices');
    workDir = await mkdtemp(join(tmpdir(), 'vo-web-e2e-'));
    const wavPath = await questionWav(workDir);

    // info level, so a lost dispatch shows in a failure's diagnostics
    livekit = await startLiveKitServer({ logLevel: 'info' });
    const started = await startDefaultService({ livekit, name: 'web-e2e', web: true });
    service = started.process;
    webUrl = started.webUrl ?? '';

    const profile = await mkdtemp(join(workDir, 'profile-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs(wavPath),
      viewport: { width: 1280, height: 800 },
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await service?.stop(20_000);
    await livekit?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  function diagnostics(page: Page): Promise<string> {
    return page
      .evaluate(() => ({
        connection: document.body.dataset['connection'],
        agentState: document.body.dataset['agentState'],
        banner: document.getElementById('banner')?.hidden ? '' : document.getElementById('banner-text')?.textContent,
        transcript: Array.from(document.querySelectorAll('#transcript li.msg')).map((li) => `${(li as HTMLElement).dataset['speaker']}: ${li.textContent}`),
      }))
      .then(
        (state) =>
          `page: ${JSON.stringify(state)}\npage errors: ${pageErrors.join(' | ')}\n--- service output ---\n${service?.output() ?? ''}\n--- livekit-server output (agent lines) ---\n${(
            livekit?.output() ?? ''
          )
            .split('\n')
            .filter((l) => /agent|dispatch|job|worker/i.test(l))
            .join('\n')}`,
      );
  }

  test('a spoken factual question gets the correct answer, shown and played; the page names the models; typed chat is answered', async () => {
    assert.ok(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(webUrl);
    await page.getByRole('button', { name: 'Connect' }).click();

    const step = async (what: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        await page.screenshot({ path: join(ARTIFACTS, 'web-e2e-failure.png'), fullPage: true }).catch(() => undefined);
        assert.fail(`${what}: ${(error as Error).message}\n${await diagnostics(page)}`);
      }
    };

    await step('the page connects', () => page.waitForSelector('body[data-connection="connected"]', { timeout: 30_000 }));
    await step('the agent joins and reports its state', () =>
      page.waitForFunction(() => ['listening', 'thinking', 'speaking', 'idle'].includes(document.body.dataset['agentState'] ?? ''), undefined, {
        timeout: 60_000,
      }),
    );
    await step('the page names the local models the agent answers with', () =>
      page.waitForFunction(
        () => {
          const text = document.getElementById('models')?.textContent ?? '';
          return /qwen2\.5-coder-0\.5b-instruct-q4_k_m \(local\)/.test(text) && /moonshine-tiny-en \(local\)/.test(text);
        },
        undefined,
        { timeout: 60_000 },
      ),
    );
    await step('the microphone level meter moves with the fake microphone', () =>
      page.waitForFunction(() => Number(document.getElementById('mic-level')?.dataset['peak']) > 0.4, undefined, { timeout: 30_000 }),
    );
    await step("the user's words appear in the transcript", () =>
      page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('#transcript li.msg.user')).some(
            (li) => /capital/i.test(li.textContent ?? '') && /france/i.test(li.textContent ?? ''),
          ),
        undefined,
        { timeout: 90_000, polling: 250 },
      ),
    );
    await step("the agent's correct answer (Paris) follows the question in the transcript", () =>
      page.waitForFunction(
        () => {
          const items = Array.from(document.querySelectorAll<HTMLElement>('#transcript li.msg'));
          const question = items.findIndex((li) => li.dataset['speaker'] === 'user' && /france/i.test(li.textContent ?? ''));
          // Inline callbacks only: this function runs in the page, named helpers would not survive transpiling.
          return (
            question >= 0 &&
            items
              .slice(question + 1)
              .some((li) => li.dataset['speaker'] === 'agent' && li.dataset['final'] === 'true' && /paris/i.test(li.querySelector('.text')?.textContent ?? ''))
          );
        },
        undefined,
        { timeout: 120_000, polling: 250 },
      ),
    );
    const playback = await page.evaluate(() => {
      const audio = Array.from(document.querySelectorAll<HTMLAudioElement>('#audio-sink audio'));
      return {
        elements: audio.length,
        playing: audio.filter(
          (a) => !a.paused && a.readyState >= 2 && (a.srcObject as MediaStream | null)?.getAudioTracks().some((t) => t.readyState === 'live'),
        ).length,
        agentPeak: Number(document.getElementById('agent-level')?.dataset['peak']),
        answer: Array.from(document.querySelectorAll<HTMLElement>('#transcript li.msg.agent .text'))
          .map((e) => e.textContent)
          .pop(),
      };
    });
    assert.ok(playback.playing >= 1, `an <audio> element plays the agent's live track: ${JSON.stringify(playback)}\n${await diagnostics(page)}`);
    assert.ok(playback.agentPeak > 0.4, `the agent's audio reaches WebAudio at a speech level (above -36 dBFS): ${JSON.stringify(playback)}`);

    // The text box: a typed message goes out on lk.chat and the agent answers it too.
    await page.locator('#chat-input').fill('Please tell me a fun fact about cats.');
    await page.keyboard.press('Enter');
    await step('a typed chat message is answered by the agent', () =>
      page.waitForFunction(
        (apologies) => {
          const items = Array.from(document.querySelectorAll<HTMLElement>('#transcript li.msg'));
          const typed = items.findIndex((li) => li.dataset['speaker'] === 'user' && /fun fact about cats/.test(li.textContent ?? ''));
          // Inline callbacks only: this function runs in the page, named helpers would not survive transpiling.
          return (
            typed >= 0 &&
            items.slice(typed + 1).some((li) => {
              const text = (li.querySelector('.text')?.textContent ?? '').trim();
              return (
                li.dataset['speaker'] === 'agent' &&
                li.dataset['final'] === 'true' &&
                text.length > 2 &&
                !apologies.some((a) => text.startsWith(a.slice(0, 20)))
              );
            })
          );
        },
        [STT_APOLOGY, LLM_APOLOGY],
        { timeout: 120_000, polling: 250 },
      ),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'web-e2e-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, 'web-e2e-phone.png'), fullPage: true });

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForSelector('body[data-connection="disconnected"]', { timeout: 10_000 });
  });
});
