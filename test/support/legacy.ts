import { connect } from 'node:net';
import { httpOk, PeerProcess, waitUntilReady } from './child-process.js';
import { freeTcpPort } from './ports.js';
import { requireTestVoice, TEST_VOICE } from './voices.js';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { Registry } from 'prom-client';
import { VARIABLES, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/ops/logger.js';
import type { SpeechChunk, SpeechSynthesizer, SynthesisOptions } from '../../src/tts/types.js';
import { createLegacyComponent, type LegacyComponent, type LegacyConfig } from '../../src/legacy/index.js';

/** Test-harness helpers for the legacy server (not product code). */

type LegacyVar = keyof LegacyConfig;

/** The legacy settings with their documented defaults, `overrides` given as env strings. */
export function legacyConfig(overrides: Partial<Record<LegacyVar, string>> = {}): LegacyConfig {
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(VARIABLES).filter((n) => n.startsWith('LEGACY_')) as LegacyVar[]) {
    const spec = VARIABLES[name] as { schema: { parse(v: unknown): unknown }; default?: string };
    values[name] = spec.schema.parse(overrides[name] ?? spec.default);
  }
  values['LEGACY_HOST'] = overrides.LEGACY_HOST ?? '127.0.0.1';
  values['LEGACY_PORT'] = Number(overrides.LEGACY_PORT ?? 0);
  return Object.freeze(values) as LegacyConfig;
}

export interface RunningLegacy {
  url: string;
  component: LegacyComponent;
  registry: Registry;
  status(): Record<string, unknown> & { active_sessions: number; errors_by_code: Record<string, number> };
  stop(): Promise<void>;
}

/** Starts the legacy component in this process on an ephemeral loopback port. */
export async function startLegacy(tts: SpeechSynthesizer, overrides: Partial<Record<LegacyVar, string>> = {}): Promise<RunningLegacy> {
  const registry = new Registry();
  registry.setDefaultLabels({ mode: 'legacy' });
  const logger = createLogger({ LOG_LEVEL: process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent', LOG_FORMAT: 'json' } as Pick<
    Config,
    'LOG_LEVEL' | 'LOG_FORMAT'
  >);
  const component = createLegacyComponent({ config: legacyConfig(overrides) as Config, logger, metrics: registry, tts });
  await component.start();
  const address = component.address();
  if (!address) throw new Error('legacy server has no address after start');
  let stopped = false;
  return {
    url: `ws://127.0.0.1:${address.port}`,
    component,
    registry,
    status: () => component.status?.() as ReturnType<RunningLegacy['status']>,
    async stop() {
      if (stopped) return;
      stopped = true;
      await component.stop(Date.now() + 2000);
    },
  };
}

/** Polls `condition` until true or throws after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Wraps an engine to observe it: how many syntheses are running right now, and how many were
 * abandoned before their last sentence (cancelled).
 */
export class ObservedSynthesizer implements SpeechSynthesizer {
  running = 0;
  started = 0;
  finished = 0;
  abandoned = 0;

  constructor(private readonly inner: SpeechSynthesizer) {}

  async *synthesize(text: string, options?: SynthesisOptions): AsyncIterable<SpeechChunk> {
    this.running++;
    this.started++;
    let completed = false;
    try {
      for await (const chunk of this.inner.synthesize(text, options)) yield chunk;
      completed = true;
    } finally {
      this.running--;
      if (completed) this.finished++;
      else this.abandoned++;
    }
  }

  sampleRate(voice?: string): Promise<number> {
    return this.inner.sampleRate(voice);
  }
}

/** The real Piper engine with the real test voice; fails loudly when the voice is not installed. */
export async function realEngine(): Promise<SpeechSynthesizer & { close(): Promise<void> }> {
  const voicesDir = requireTestVoice();
  const { PiperEngine } = await import('../../src/tts/index.js');
  const engine = new PiperEngine({
    VOICES_DIR: voicesDir,
    TTS_VOICE: TEST_VOICE,
    TTS_MAX_VOICES: 2,
    TTS_INTRA_OP_THREADS: 0,
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
  });
  await engine.load(TEST_VOICE, true);
  return engine;
}

export { TEST_VOICE };

export interface ServerProcess {
  url: string;
  healthUrl: string;
  proc: PeerProcess;
  stop(): Promise<void>;
}

/**
 * Runs the real service (`src/main.ts`, ORCHESTRATOR_MODE=legacy) on free loopback ports with the
 * real voice and waits until /ready answers 200.
 */
export async function startServerProcess(env: Record<string, string> = {}, readyTimeoutMs = 180_000): Promise<ServerProcess> {
  const voicesDir = requireTestVoice();
  const legacyPort = await freeTcpPort();
  let healthPort = await freeTcpPort();
  while (healthPort === legacyPort) healthPort = await freeTcpPort();
  const proc = new PeerProcess({
    name: 'voice-orchestrator (legacy)',
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      ORCHESTRATOR_MODE: 'legacy',
      VOICES_DIR: voicesDir,
      TTS_VOICE: TEST_VOICE,
      LEGACY_HOST: '127.0.0.1',
      LEGACY_PORT: String(legacyPort),
      WYOMING_PORT: String(await freeTcpPort()),
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: String(healthPort),
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  await waitUntilReady(proc, () => httpOk(`${healthUrl}/ready`), readyTimeoutMs, 'ready');
  return {
    url: `ws://127.0.0.1:${legacyPort}`,
    healthUrl,
    proc,
    stop: () => proc.stop(10_000),
  };
}

/** Writes raw bytes to a TCP port and collects the reply until the server closes or `timeoutMs` passes. */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 3000): Promise<{ head: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ head: reply.slice(0, 2000), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(request);
  });
}
