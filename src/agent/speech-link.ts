/**
 * The host's speech service as the agent job processes reach it: Wyoming over a Unix socket in
 * the control channel's private 0700 directory. Job processes load no voice; every room's
 * sentences go through the one engine and scheduler of the main process (first sentences first,
 * fair across rooms, legacy sessions and HTTP clients), and closing a connection cancels its
 * synthesis at once, which is how an interruption stops the engine.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { SpeechService } from '../speech/service.js';
import { describeService } from '../wyoming/info.js';
import { WyomingServer } from '../wyoming/server.js';

/** The environment variable that carries the socket path to the job processes (they inherit it). */
export const SPEECH_SOCKET_ENV = 'VO_AGENT_SPEECH_SOCKET';

/** One connection per sentence being spoken; a room rarely has more than a few at once. */
const CONNECTIONS_PER_SESSION = 8;

export type SpeechLinkConfig = Pick<Config, 'AGENT_MAX_SESSIONS' | 'LEGACY_SEND_HIGH_WATER_BYTES' | 'LEGACY_SLOW_CONSUMER_TIMEOUT_MS'>;

export class SpeechLink {
  private readonly server: WyomingServer;
  private socketPath: string | undefined;

  constructor(speech: SpeechService, config: SpeechLinkConfig, logger: Logger) {
    const maxConnections = CONNECTIONS_PER_SESSION * config.AGENT_MAX_SESSIONS + 16;
    this.server = new WyomingServer({
      speech,
      protocol: 'agent',
      maxConnections,
      logger,
      info: () => describeService(speech.voices, 'agent'),
      limits: {
        maxHeaderBytes: 16 * 1024,
        maxDataBytes: speech.maxTextChars * 4 + 1024,
        maxPayloadBytes: 0,
        // a connection speaks one sentence, then the job closes it
        idleTimeoutMs: 60_000,
        ratePerSec: 100,
        rateBurst: 100,
        maxQueued: 4,
        delivery: { highWaterBytes: config.LEGACY_SEND_HIGH_WATER_BYTES, slowConsumerMs: config.LEGACY_SLOW_CONSUMER_TIMEOUT_MS },
      },
    });
  }

  /** Listens in `privateDir` (a 0700 directory of this process); returns the job processes' environment. */
  async start(privateDir: string): Promise<Record<string, string>> {
    const path = join(privateDir, 'speech.sock');
    await this.server.listen({ path });
    await chmod(path, 0o600);
    this.socketPath = path;
    return { [SPEECH_SOCKET_ENV]: path };
  }

  stop(deadline: number): Promise<void> {
    return this.socketPath ? this.server.stop(deadline) : Promise.resolve();
  }

  status(): Record<string, unknown> {
    return { connections: this.server.connectionCount };
  }
}
