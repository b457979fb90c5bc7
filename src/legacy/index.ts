import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { LegacyMetrics } from './metrics.js';
import { SynthesisScheduler } from './scheduler.js';
import { LegacyServer } from './server.js';
import type { SessionLimits } from './session.js';

export type LegacyConfig = Pick<
  Config,
  | 'LEGACY_HOST'
  | 'LEGACY_PORT'
  | 'LEGACY_AUTH_TOKEN'
  | 'LEGACY_ALLOWED_ORIGINS'
  | 'LEGACY_MAX_CONNECTIONS'
  | 'LEGACY_MAX_MESSAGE_BYTES'
  | 'LEGACY_MAX_TEXT_CHARS'
  | 'LEGACY_MAX_QUEUED_TEXTS'
  | 'LEGACY_RATE_LIMIT_PER_SEC'
  | 'LEGACY_RATE_LIMIT_BURST'
  | 'LEGACY_CONTROL_RATE_LIMIT_PER_SEC'
  | 'LEGACY_CONTROL_RATE_LIMIT_BURST'
  | 'LEGACY_SEND_HIGH_WATER_BYTES'
  | 'LEGACY_SLOW_CONSUMER_TIMEOUT_MS'
  | 'LEGACY_IDLE_TIMEOUT_MS'
  | 'LEGACY_MAX_SESSION_MS'
  | 'LEGACY_SEND_BUFFER_BYTES'
  | 'LEGACY_PACING'
>;

export interface LegacyComponentDeps {
  config: LegacyConfig;
  logger: Logger;
  metrics: Registry;
  tts: SpeechSynthesizer;
}

export type LegacyComponent = Component & { address(): { host: string; port: number } | undefined };

/** The legacy WebSocket TTS server as an app component. */
export function createLegacyComponent({ config, logger, metrics, tts }: LegacyComponentDeps): LegacyComponent {
  const legacyMetrics = new LegacyMetrics(metrics);
  const limits: SessionLimits = {
    maxMessageBytes: config.LEGACY_MAX_MESSAGE_BYTES,
    maxTextChars: config.LEGACY_MAX_TEXT_CHARS,
    maxQueuedTexts: config.LEGACY_MAX_QUEUED_TEXTS,
    rateLimitPerSec: config.LEGACY_RATE_LIMIT_PER_SEC,
    rateLimitBurst: config.LEGACY_RATE_LIMIT_BURST,
    controlRateLimitPerSec: config.LEGACY_CONTROL_RATE_LIMIT_PER_SEC,
    controlRateLimitBurst: config.LEGACY_CONTROL_RATE_LIMIT_BURST,
    sendHighWaterBytes: config.LEGACY_SEND_HIGH_WATER_BYTES,
    slowConsumerMs: config.LEGACY_SLOW_CONSUMER_TIMEOUT_MS,
    idleTimeoutMs: config.LEGACY_IDLE_TIMEOUT_MS,
    maxSessionMs: config.LEGACY_MAX_SESSION_MS,
    sendBufferBytes: config.LEGACY_SEND_BUFFER_BYTES,
    pacing: config.LEGACY_PACING,
  };
  const server = new LegacyServer({
    host: config.LEGACY_HOST,
    port: config.LEGACY_PORT,
    authToken: config.LEGACY_AUTH_TOKEN,
    allowedOrigins: config.LEGACY_ALLOWED_ORIGINS,
    maxConnections: config.LEGACY_MAX_CONNECTIONS,
    limits,
    tts,
    // Piper runs one voice's sentences one at a time (its worker uses every core), so one slot
    // lets the scheduler, not the engine's FIFO, decide which sentence goes next.
    scheduler: new SynthesisScheduler(1),
    metrics: legacyMetrics,
    logger,
  });
  let stopping = false;

  return {
    name: 'legacy',
    async start() {
      await server.listen();
      const address = server.address();
      logger.info({ ...address, pacing: limits.pacing, auth: config.LEGACY_AUTH_TOKEN !== undefined }, 'legacy WebSocket server listening');
    },
    async stop(deadline) {
      stopping = true;
      await server.stop(deadline);
    },
    health() {
      if (server.listening) return { ready: true, detail: 'listening' };
      return { ready: false, detail: stopping ? 'stopping' : 'not listening' };
    },
    status() {
      return { address: server.address() ?? null, pacing: limits.pacing, ...legacyMetrics.snapshot() };
    },
    address: () => server.address(),
  };
}
