import type { Component } from '../component.js';
import { isLoopbackHost } from '../config/fields.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import type { ConnectionLimits } from './connection.js';
import { describeService } from './info.js';
import { WyomingServer } from './server.js';

export type WyomingConfig = Pick<
  Config,
  | 'WYOMING_HOST'
  | 'WYOMING_PORT'
  | 'WYOMING_MAX_CONNECTIONS'
  | 'WYOMING_IDLE_TIMEOUT_MS'
  | 'WYOMING_MAX_HEADER_BYTES'
  | 'WYOMING_MAX_DATA_BYTES'
  | 'WYOMING_MAX_PAYLOAD_BYTES'
  | 'WYOMING_RATE_LIMIT_PER_SEC'
  | 'WYOMING_RATE_LIMIT_BURST'
  | 'LEGACY_MAX_QUEUED_TEXTS'
  | 'LEGACY_SEND_HIGH_WATER_BYTES'
  | 'LEGACY_SLOW_CONSUMER_TIMEOUT_MS'
>;

export interface WyomingComponentDeps {
  config: WyomingConfig;
  logger: Logger;
  speech: SpeechService;
  /** Shown as the program version in `info`. */
  version?: string;
}

export type WyomingComponent = Component & { address(): { host: string; port: number } | undefined };

/**
 * The Wyoming text-to-speech server (Home Assistant's protocol) on WYOMING_PORT, speaking with
 * the process's speech service. Connections beyond WYOMING_MAX_CONNECTIONS get an `error` event
 * and are closed; each connection's limits are in ConnectionLimits.
 */
export function createWyomingComponent({ config, logger, speech, version = '0.1.0' }: WyomingComponentDeps): WyomingComponent {
  const limits: ConnectionLimits = {
    maxHeaderBytes: config.WYOMING_MAX_HEADER_BYTES,
    maxDataBytes: config.WYOMING_MAX_DATA_BYTES,
    maxPayloadBytes: config.WYOMING_MAX_PAYLOAD_BYTES,
    idleTimeoutMs: config.WYOMING_IDLE_TIMEOUT_MS,
    ratePerSec: config.WYOMING_RATE_LIMIT_PER_SEC,
    rateBurst: config.WYOMING_RATE_LIMIT_BURST,
    maxQueued: config.LEGACY_MAX_QUEUED_TEXTS,
    delivery: { highWaterBytes: config.LEGACY_SEND_HIGH_WATER_BYTES, slowConsumerMs: config.LEGACY_SLOW_CONSUMER_TIMEOUT_MS },
  };
  const server = new WyomingServer({
    speech,
    limits,
    maxConnections: config.WYOMING_MAX_CONNECTIONS,
    protocol: 'wyoming',
    logger,
    info: () => describeService(speech.voices, version),
  });
  const address = () => server.address();

  return {
    name: 'wyoming',
    async start() {
      try {
        await server.listen({ host: config.WYOMING_HOST, port: config.WYOMING_PORT });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(
          `wyoming server: cannot listen on ${config.WYOMING_HOST}:${config.WYOMING_PORT}: ${e.code ?? e.message} (set WYOMING_HOST / WYOMING_PORT)`,
        );
      }
      if (!isLoopbackHost(config.WYOMING_HOST)) {
        logger.warn({ host: config.WYOMING_HOST }, 'the Wyoming protocol has no authentication: anyone who reaches this address can use the server');
      }
      logger.info({ ...address(), maxConnections: config.WYOMING_MAX_CONNECTIONS }, 'wyoming server listening');
    },
    stop: (deadline) => server.stop(deadline),
    health() {
      return server.listening ? { ready: true, detail: 'listening' } : { ready: false, detail: server.status };
    },
    status() {
      return { address: address() ?? null, connections: server.connectionCount, maxConnections: config.WYOMING_MAX_CONNECTIONS };
    },
    address,
  };
}
