import { dispose } from '@livekit/rtc-node';
import { createMetricsRegistry } from '../ops/metrics.js';
import { createLogger } from '../ops/logger.js';
import { createAgentComponent } from './index.js';
import { benchConfig, benchEnv, startBench } from './e2e-bench.js';
import { TestParticipant } from './test-participant.js';
const t0 = performance.now();
const log = (...a: unknown[]) => console.log(((performance.now() - t0) / 1000).toFixed(2), ...a);
const bench = await startBench({ llmEngine: 'stand-in' });
const env = benchEnv(bench, { LOG_LEVEL: 'debug' });
const config = benchConfig(env);
const agent = createAgentComponent({ config, logger: createLogger(config), metrics: createMetricsRegistry('agent') });
await agent.start();
for (let i = 0; i < 3; i++) {
  const p = await TestParticipant.join({ url: bench.livekit.url, apiKey: bench.livekit.apiKey, apiSecret: bench.livekit.apiSecret, room: `smoke2-${i}-${Date.now()}`, agentName: env.AGENT_NAME! });
  log('joined', i);
  try { await p.waitForAgent(40000); log('agent present', i); } catch (e) { log('FAIL', i, String(e)); }
  if (i === 2) await p.leave();
}
await agent.stop(Date.now() + 5000);
await bench.stop();
await dispose();
