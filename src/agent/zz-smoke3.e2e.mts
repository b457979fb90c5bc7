import { dispose } from '@livekit/rtc-node';
import { createMetricsRegistry } from '../ops/metrics.js';
import { createLogger } from '../ops/logger.js';
import { createAgentComponent } from './index.js';
import { benchConfig } from './e2e-bench.js';
import { TestParticipant } from './test-participant.js';
import { join } from 'node:path';
import { homedir } from 'node:os';
const t0 = performance.now();
const log = (...a: unknown[]) => console.log(((performance.now() - t0) / 1000).toFixed(2), ...a);
import { liveKitConfigYaml } from '../testing/livekit-server.js';
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
writeFileSync('/tmp/c2/lk.yaml', liveKitConfigYaml({ port: 17880, rtcTcpPort: 17881, rtcUdpPort: 17882 }, 'devkey', 'secretsecretsecretsecretsecretsecret', 'debug'));
const lkp = spawn(homedir() + '/.cache/voice-orchestrator/bin/server', ['--config', '/tmp/c2/lk.yaml'], { stdio: ['ignore', 'ignore', (await import('node:fs')).openSync('/tmp/c2/lk.log', 'w')] });
await new Promise((r) => setTimeout(r, 2000));
const lk = { url: 'ws://127.0.0.1:17880', httpUrl: 'http://127.0.0.1:17880', apiKey: 'devkey', apiSecret: 'secretsecretsecretsecretsecretsecret', output: () => '', stop: async () => { lkp.kill(); } };
const env = { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret, AGENT_NAME: 'smk', AGENT_HEALTH_PORT: '0', VOICES_DIR: join(homedir(), '.cache/voice-orchestrator/voices'), TTS_VOICE: 'en_US-joe-medium', LOG_LEVEL: 'warn', LLM_BASE_URL: 'http://127.0.0.1:9/v1', STT_BASE_URL: 'http://127.0.0.1:9/v1' };
const config = benchConfig(env);
const agent = createAgentComponent({ config, logger: createLogger(config), metrics: createMetricsRegistry('agent') });
await agent.start();
for (let i = 0; i < 2; i++) {
  const p = await TestParticipant.join({ url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret, room: `smoke3-${i}-${Date.now()}`, agentName: 'smk' });
  log('joined', i);
  const { AgentDispatchClient, RoomServiceClient } = await import('livekit-server-sdk');
  const rn = p.room.name!;
  try { await p.waitForAgent(i === 0 ? 40000 : 15000); log('agent present', i); } catch (e) { log('FAIL', i, String(e)); console.log(lk.output().split('\n').filter((l) => /agent|dispatch|worker|job/i.test(l) && !/signal|rtcp|rtpstats/i.test(l)).map((l) => l.slice(0, 400)).join('\n')); }
  log('dispatches', JSON.stringify(await new AgentDispatchClient(lk.httpUrl, lk.apiKey, lk.apiSecret).listDispatch(rn)).slice(0, 600));
  log('participants', (await new RoomServiceClient(lk.httpUrl, lk.apiKey, lk.apiSecret).listParticipants(rn)).map((x) => x.identity));
}
await agent.stop(Date.now() + 3000);
await lk.stop();
await dispose();
