/**
 * Test support (not product code): the real bench for agent end-to-end tests and the benchmark.
 * A loopback LiveKit server, the real Whisper STT server, the LLM server (real SmolLM2 model or,
 * when asked, the named stand-in), and the configuration an agent needs to use them.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { peerCacheDir } from '../testing/cache.js';
import { startLiveKitServer, type LiveKitTestServer } from '../testing/livekit-server.js';
import { startLlmServer, type LlmTestServer } from '../testing/llm-server.js';
import { speak } from '../testing/speech.js';
import { startSttServer, type SttTestServer } from '../testing/stt-server.js';
import { RATE, resample } from './test-participant.js';

export const TEST_VOICE = 'en_US-joe-medium';

export interface Bench {
  livekit: LiveKitTestServer;
  stt: SttTestServer;
  llm: LlmTestServer;
  stop(): Promise<void>;
}

export async function startBench(options: { llmEngine?: 'smollm2' | 'stand-in' } = {}): Promise<Bench> {
  const livekit = await startLiveKitServer();
  let stt: SttTestServer | undefined;
  try {
    stt = await startSttServer();
    const llm = await startLlmServer({ engine: options.llmEngine ?? 'smollm2', defaultMaxTokens: 40 });
    return {
      livekit,
      stt,
      llm,
      async stop() {
        await Promise.allSettled([livekit.stop(), stt?.stop(), llm.stop()]);
      },
    };
  } catch (err) {
    await Promise.allSettled([livekit.stop(), stt?.stop()]);
    throw err;
  }
}

/** The environment a service process or loadConfig needs to run the agent against the bench. */
export function benchEnv(bench: Bench, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LIVEKIT_URL: bench.livekit.url,
    LIVEKIT_API_KEY: bench.livekit.apiKey,
    LIVEKIT_API_SECRET: bench.livekit.apiSecret,
    AGENT_NAME: `test-agent-${process.pid}`,
    AGENT_HEALTH_PORT: '0',
    AGENT_GREETING: 'Hello! How can I help you today?',
    AGENT_INSTRUCTIONS: 'You are a helpful voice assistant. Answer in one or two short sentences.',
    // Whisper and SmolLM2 share 2 loaded cores with everything else here: be patient, but not forever.
    AGENT_PROVIDER_TIMEOUT_MS: '12000',
    OPENAI_API_KEY: 'test-key',
    LLM_BASE_URL: bench.llm.baseURL,
    LLM_MODEL: bench.llm.model,
    STT_BASE_URL: bench.stt.baseURL,
    STT_MODEL: bench.stt.modelName,
    VOICES_DIR: join(peerCacheDir(), 'voices'),
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
  return resample(spoken.pcm, spoken.sampleRate, RATE);
}
