/**
 * Test support (not product code): the real bench for agent end-to-end tests and the benchmark.
 * A loopback LiveKit server, the real Whisper STT server, the LLM server (real SmolLM2 model or,
 * when asked, the named stand-in), and the configuration an agent needs to use them.
 */
import { Writable } from 'node:stream';
import { type AgentComponent, type AgentComponentOptions, createAgentComponent } from '../../src/agent/index.js';
import { Resampler } from '../../src/audio/index.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/ops/logger.js';
import { createHostSpeech } from '../../src/speech/host.js';
import { peerEnv, startTestBench } from './bench.js';
import type { LiveKitTestServer } from './livekit-server.js';
import type { LlmTestServer } from './llm-server.js';
import { speak } from './speech.js';
import type { SttTestServer } from './stt-server.js';
import { TEST_VOICE, testVoicesDir } from './voices.js';
import { RATE } from './test-participant.js';

export { TEST_VOICE };

export interface Bench {
  livekit: LiveKitTestServer;
  stt: SttTestServer;
  llm: LlmTestServer;
  stop(): Promise<void>;
}

/** The test bench (src/testing/bench.ts) with all three peers, the LLM capped at 40 tokens an answer. */
export async function startBench(options: { llmEngine?: 'smollm2' | 'stand-in' } = {}): Promise<Bench> {
  const bench = await startTestBench({ llm: { engine: options.llmEngine ?? 'smollm2', defaultMaxTokens: 40 } });
  const { livekit, stt, llm } = bench;
  if (!livekit || !stt || !llm) throw new Error('the test bench started without a peer it was asked for');
  return { livekit, stt, llm, stop: bench.stop };
}

/** The environment a service process or loadConfig needs to run the agent against the bench. */
export function benchEnv(bench: Bench, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...peerEnv(bench),
    AGENT_NAME: `test-agent-${process.pid}`,
    AGENT_HEALTH_PORT: '0',
    AGENT_GREETING: 'Hello! How can I help you today?',
    AGENT_INSTRUCTIONS: 'You are a helpful voice assistant. Answer in one or two short sentences.',
    // Whisper and SmolLM2 share 2 loaded cores with everything else here: be patient, but not forever.
    AGENT_PROVIDER_TIMEOUT_MS: '12000',
    VOICES_DIR: testVoicesDir(),
    TTS_VOICE: TEST_VOICE,
    LOG_LEVEL: 'warn',
    ...overrides,
  };
}

export function benchConfig(env: Record<string, string>): Config {
  return loadConfig({ env }).config;
}

/** A logger whose JSON lines are kept in memory (to assert on warnings) and not printed. */
export function capturedLogger(config: Config): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim()) {
          try {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not JSON: ignore
          }
        }
      }
      done();
    },
  });
  return { logger: createLogger({ ...config, LOG_LEVEL: 'info' }, sink), lines: () => lines };
}

/** Flite speech for `text` at 48 kHz, with trailing silence left to the participant's pump. */
export async function speech48k(text: string): Promise<Int16Array> {
  const spoken = await speak(text, { sampleRate: 16_000 });
  return Resampler.oneShot(spoken.pcm, spoken.sampleRate, RATE);
}

/**
 * The agent component as the service composes it: with the host's speech service (the one Piper
 * engine its job processes speak through), started before the worker and stopped after it.
 */
export function createAgentWithSpeech(options: Omit<AgentComponentOptions, 'speech'>): AgentComponent {
  const host = createHostSpeech({ ...options, mode: 'agent' });
  const agent = createAgentComponent({ ...options, speech: host.speech });
  const start = agent.start.bind(agent);
  const stop = agent.stop.bind(agent);
  agent.start = async () => {
    await host.component.start();
    await start();
  };
  agent.stop = async (deadline) => {
    await stop(deadline);
    await host.component.stop(deadline);
  };
  return agent;
}
