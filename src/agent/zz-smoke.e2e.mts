// temporary smoke script (deleted before report)
import { dispose } from '@livekit/rtc-node';
import { createMetricsRegistry } from '../ops/metrics.js';
import { createLogger } from '../ops/logger.js';
import { createAgentComponent } from './index.js';
import { benchConfig, benchEnv, speech48k, startBench } from './e2e-bench.js';
import { TestParticipant } from './test-participant.js';

const t0 = performance.now();
const log = (...a: unknown[]) => console.log(((performance.now() - t0) / 1000).toFixed(2), ...a);
const bench = await startBench();
log('bench up', bench.llm.model);
const env = benchEnv(bench, { LOG_LEVEL: 'info' });
const config = benchConfig(env);
const registry = createMetricsRegistry('agent');
const agent = createAgentComponent({ config, logger: createLogger(config), metrics: registry });
await agent.start();
log('agent started', agent.health());
agent.events.on('event', (e) => log('event', JSON.stringify(e)));
const p = await TestParticipant.join({ url: bench.livekit.url, apiKey: bench.livekit.apiKey, apiSecret: bench.livekit.apiSecret, room: 'smoke-' + Date.now(), agentName: env.AGENT_NAME! });
log('joined');
try {
  await p.waitForAgent(60000);
  log('agent present');
  const g = await p.transcriptAfter('agent', 0, 60000);
  log('greeting', g.text);
  const first = await p.firstSoundAfter(0, 60000);
  const end = await p.soundEnd(first, 1200, 60000);
  log('greeting sound ms', p.soundMs(0), 'span', end - first);
  const { startedAt, endedAt } = await p.say(await speech48k('What is the capital city of France?'));
  log('said', endedAt - startedAt);
  const u = await p.transcriptAfter('user', endedAt - 5000, 60000);
  log('user transcript', u.text, u.at - endedAt);
  const s = await p.firstSoundAfter(endedAt, 60000);
  log('first answer sound after', s - endedAt);
  const a = await p.transcriptAfter('agent', endedAt, 60000);
  log('answer', a.text);
} catch (e) {
  log('FAIL', e);
}
log(p.transcripts.map((t) => `${t.speaker}:${t.final}:${t.text}`));
log(p.agentStates.map((s) => s.state).join(','));
await p.leave();
await agent.stop(Date.now() + 5000);
await bench.stop();
log(await registry.metrics().then((m) => m.split('\n').filter((l) => l.startsWith('agent_')).join('\n')));
await dispose();
