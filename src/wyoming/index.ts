import { createServer, type Server, type Socket } from 'node:net';
import type { Component } from '../component.js';
import { isLoopbackHost } from '../config/fields.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import { type ConnectionLimits, WyomingConnection } from './connection.js';
import { encodeEvent } from './framing.js';
import { describeService } from './info.js';

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
  const connections = new Map<Socket, WyomingConnection>();
  let state: 'idle' | 'listening' | 'stopping' | 'failed' = 'idle';
  const info = () => describeService(speech.voices, version);

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    if (state !== 'listening' || connections.size >= config.WYOMING_MAX_CONNECTIONS) {
      const why = state === 'listening' ? `the server is at its limit of ${config.WYOMING_MAX_CONNECTIONS} connections` : 'the server is shutting down';
      speech.metrics.error('wyoming', state === 'listening' ? 'too_many_connections' : 'shutting_down');
      socket.on('error', () => socket.destroy());
      socket.end(encodeEvent('error', { text: `${why}; try again later`, code: state === 'listening' ? 'too_many_connections' : 'shutting_down' }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const connection = new WyomingConnection({ socket, speech, limits, info, log: logger.child({ peer: socket.remoteAddress }) });
    connections.set(socket, connection);
    socket.on('close', () => connections.delete(socket));
  });
  server.on('error', (err) => logger.error({ err }, 'wyoming server error'));

  const address = () => {
    const a = server.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  };

  return {
    name: 'wyoming',
    async start() {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          state = 'failed';
          reject(
            new Error(
              `wyoming server: cannot listen on ${config.WYOMING_HOST}:${config.WYOMING_PORT}: ${err.code ?? err.message} (set WYOMING_HOST / WYOMING_PORT)`,
            ),
          );
        };
        server.once('error', onError);
        server.listen(config.WYOMING_PORT, config.WYOMING_HOST, () => {
          server.off('error', onError);
          resolve();
        });
      });
      state = 'listening';
      if (!isLoopbackHost(config.WYOMING_HOST)) {
        logger.warn({ host: config.WYOMING_HOST }, 'the Wyoming protocol has no authentication: anyone who reaches this address can use the server');
      }
      logger.info({ ...address(), maxConnections: config.WYOMING_MAX_CONNECTIONS }, 'wyoming server listening');
    },
    async stop(deadline) {
      state = 'stopping';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // idle connections close now; those speaking may finish until the deadline
      while (connections.size > 0 && Date.now() < deadline) {
        for (const connection of connections.values()) if (!connection.busy) connection.close();
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const connection of connections.values()) connection.close();
      for (const socket of connections.keys()) socket.destroy();
      await closed;
    },
    health() {
      return state === 'listening' ? { ready: true, detail: 'listening' } : { ready: false, detail: state };
    },
    status() {
      return { address: address() ?? null, connections: connections.size, maxConnections: config.WYOMING_MAX_CONNECTIONS };
    },
    address,
  };
}
