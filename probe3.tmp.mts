import { spawn } from 'node:child_process';
import { dispose } from '@livekit/rtc-node';
import { chromium } from 'playwright-core';
import { startLiveKitServer } from './src/testing/livekit-server.js';
import { freeTcpPort } from './src/testing/ports.js';
const lk = await startLiveKitServer({ logLevel: 'debug' });
const [webPort, healthPort] = [await freeTcpPort(), await freeTcpPort()];
const env = { ...process.env, ORCHESTRATOR_MODE: 'agent', LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret, AGENT_NAME: 'probe-agent', HEALTH_HOST: '127.0.0.1', HEALTH_PORT: String(healthPort), WEB_PORT: String(webPort), WEB_HOST: '127.0.0.1', AGENT_HEALTH_PORT: '0', VOICES_DIR: process.env.HOME + '/.cache/voice-orchestrator/voices', TTS_VOICE: 'en_US-joe-medium', OPENAI_API_KEY: 'x', STT_BASE_URL: 'http://127.0.0.1:9/v1', LLM_BASE_URL: 'http://127.0.0.1:9/v1' };
const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: '/work/main', env, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d) => (out += d)); child.stderr.on('data', (d) => (out += d));
for (let i = 0; i < 120; i++) { try { if ((await fetch(`http://127.0.0.1:${healthPort}/ready`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 500)); }
console.log('ready');
const ctx = await chromium.launchPersistentContext('/tmp/probe/p3-' + Date.now(), { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync','--use-fake-ui-for-media-stream','--use-fake-device-for-media-stream'] });
const page = await ctx.newPage();
page.on('console', (m) => { if (/signal|join|error/i.test(m.text())) console.log('console', m.type(), m.text().slice(0, 300)); });
await page.goto(`http://127.0.0.1:${webPort}/`);
await page.click('#connect');
const t0 = Date.now();
try { await page.waitForFunction(() => ['listening','thinking','speaking','idle','initializing'].includes(document.body.dataset['agentState'] ?? ''), undefined, { timeout: 40000 }); } catch (e) { console.log('agent not joined'); }
console.log('agent state', await page.evaluate(() => document.body.dataset['agentState']), 'after', Date.now() - t0);
await ctx.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
const lkout = lk.output();
await lk.stop(); await dispose();
const msgs = [...out.matchAll(/"msg":"([^"]*)"/g)].map((m) => m[1]);
console.log('service msgs:', [...new Set(msgs)].join(' | '));
console.log('--- livekit (agent-related) ---');
console.log(lkout.split('\n').filter((l) => /dispatch|job|worker|agent/i.test(l) && !/signal response|participant update|subscrib|resolved track|track published/.test(l)).slice(-30).join('\n').slice(0, 6000));
