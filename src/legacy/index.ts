import type { Registry } from 'prom-client';
import type { Component } from '../component.js';
import { type Config, VARIABLES } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { OpenAiSpeechApi } from '../openai-speech/handler.js';
import { TokenCheck } from '../speech/auth.js';
import { SpeechService } from '../speech/service.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { LegacyMetrics } from './metrics.js';
import { LegacyServer } from './server.js';
import type { SessionLimits } from './session.js';

type OpenAiVar = 'OPENAI_VOICE_MAP' | 'OPENAI_MAX_CONCURRENT_REQUESTS' | 'OPENAI_RATE_LIMIT_PER_MIN';

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
> &
  Partial<Pick<Config, OpenAiVar | 'VOICES_DIR' | 'TTS_VOICE'>>;

export interface LegacyComponentDeps {
  config: LegacyConfig;
  logger: Logger;
  metrics: Registry;
  tts: SpeechSynthesizer;
  /** The process's speech service (shared with the Wyoming server); made here from `tts` when absent. */
  speech?: SpeechService;
}

export type LegacyComponent = Component & { address(): { host: string; port: number } | undefined };

/** The speech server's port as an app component: the legacy WebSocket protocol and the OpenAI speech API. */
export function createLegacyComponent({ config, logger, metrics, tts, speech: shared }: LegacyComponentDeps): LegacyComponent {
  const speech =
    shared ??
    new SpeechService({
      tts,
      registry: metrics,
      voicesDir: setting(config, 'VOICES_DIR'),
      defaultVoice: setting(config, 'TTS_VOICE'),
      maxTextChars: config.LEGACY_MAX_TEXT_CHARS,
    });
  const legacyMetrics = new LegacyMetrics(metrics, speech.metrics);
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
  const auth = new TokenCheck(config.LEGACY_AUTH_TOKEN);
  const openai = new OpenAiSpeechApi({
    speech,
    auth,
    allowedOrigins: config.LEGACY_ALLOWED_ORIGINS,
    maxBodyBytes: config.LEGACY_MAX_MESSAGE_BYTES,
    maxConcurrent: setting(config, 'OPENAI_MAX_CONCURRENT_REQUESTS'),
    ratePerMinute: setting(config, 'OPENAI_RATE_LIMIT_PER_MIN'),
    voiceMap: setting(config, 'OPENAI_VOICE_MAP'),
    delivery: { highWaterBytes: limits.sendHighWaterBytes, slowConsumerMs: limits.slowConsumerMs },
    logger: logger.child({ protocol: 'openai' }),
  });
  const server = new LegacyServer({
    host: config.LEGACY_HOST,
    port: config.LEGACY_PORT,
    auth,
    allowedOrigins: config.LEGACY_ALLOWED_ORIGINS,
    maxConnections: config.LEGACY_MAX_CONNECTIONS,
    limits,
    speech,
    httpApi: { handles: (req) => OpenAiSpeechApi.handles(req), handle: (req, res) => openai.handle(req, res), close: (deadline) => openai.close(deadline) },
    metrics: legacyMetrics,
    logger,
  });
  let stopping = false;

  return {
    name: 'legacy',
    async start() {
      await server.listen();
      const address = server.address();
      logger.info({ ...address, pacing: limits.pacing, auth: auth.required }, 'speech server listening (legacy WebSocket and OpenAI /v1/audio/speech)');
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
      return {
        address: server.address() ?? null,
        pacing: limits.pacing,
        ...legacyMetrics.snapshot(),
        openai_active_requests: openai.activeRequests,
        speech: speech.metrics.snapshot(),
      };
    },
    address: () => server.address(),
  };
}

/** A setting the caller may leave out (in-process tests build only the legacy ones): its schema default then. */
function setting<K extends OpenAiVar | 'VOICES_DIR' | 'TTS_VOICE'>(config: LegacyConfig, name: K): Config[K] {
  const value = config[name] as Config[K] | undefined;
  return value ?? (VARIABLES[name].schema.parse(VARIABLES[name].default) as Config[K]);
}
