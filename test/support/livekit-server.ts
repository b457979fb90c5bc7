import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerMissingError, peerCacheDir } from './cache.js';
import { PeerProcess, httpOk, waitUntilReady } from './child-process.js';
import { freeTcpPort, freeUdpPort } from './ports.js';

export const LIVEKIT_SERVER_VERSION = '1.13.5';

export interface LiveKitServerOptions {
  /** API key; default `devkey`. */
  apiKey?: string;
  /** API secret; default: random, 48 characters. */
  apiSecret?: string;
  /** Signalling/HTTP port; default: a free one. */
  port?: number;
  /** ICE over TCP port; default: a free one. */
  rtcTcpPort?: number;
  /** ICE over UDP (single muxed) port; default: a free one. */
  rtcUdpPort?: number;
  /** Path of the binary; default: `$VO_CACHE/bin/livekit-server` (or `server`). */
  binary?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readyTimeoutMs?: number;
}

export interface LiveKitPorts {
  port: number;
  rtcTcpPort: number;
  rtcUdpPort: number;
}

/** The installed LiveKit server binary, or a PeerMissingError naming the set-up part. */
export function findLiveKitBinary(): string {
  const bin = join(peerCacheDir(), 'bin');
  for (const name of ['livekit-server', 'server']) {
    const candidate = join(bin, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new PeerMissingError('LiveKit server', 'livekit', 'no livekit-server in $VO_CACHE/bin');
}

/** Loopback-only config: no external IP discovery, no STUN, loopback ICE candidates allowed. */
export function liveKitConfigYaml(ports: LiveKitPorts, apiKey: string, apiSecret: string, logLevel: string): string {
  return [
    `port: ${ports.port}`,
    'bind_addresses:',
    '  - 127.0.0.1',
    'rtc:',
    `  tcp_port: ${ports.rtcTcpPort}`,
    `  udp_port: ${ports.rtcUdpPort}`,
    '  use_external_ip: false',
    '  node_ip: 127.0.0.1',
    '  enable_loopback_candidate: true',
    // Offer only loopback candidates (otherwise the host's other addresses are advertised too).
    '  ips:',
    '    includes:',
    '      - 127.0.0.1/32',
    'keys:',
    `  ${JSON.stringify(apiKey)}: ${JSON.stringify(apiSecret)}`,
    'logging:',
    `  level: ${logLevel}`,
    '',
  ].join('\n');
}

/**
 * A real LiveKit server (v1.13.5) on 127.0.0.1 for tests. `restart()` brings it back on the SAME ports
 * (for "server restart mid-run" tests); `stop()` ends it and removes its config.
 */
export class LiveKitTestServer {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly ports: LiveKitPorts;
  private proc: PeerProcess | undefined;
  private constructor(
    private readonly binary: string,
    private readonly configDir: string,
    ports: LiveKitPorts,
    apiKey: string,
    apiSecret: string,
    private readonly readyTimeoutMs: number,
  ) {
    this.ports = ports;
    this.apiKey = apiKey;
    this.apiSecret = apiSecret;
  }

  static async start(options: LiveKitServerOptions = {}): Promise<LiveKitTestServer> {
    const binary = options.binary ?? findLiveKitBinary();
    const ports: LiveKitPorts = {
      port: options.port ?? (await freeTcpPort()),
      rtcTcpPort: options.rtcTcpPort ?? (await freeTcpPort()),
      rtcUdpPort: options.rtcUdpPort ?? (await freeUdpPort()),
    };
    const apiKey = options.apiKey ?? 'devkey';
    const apiSecret = options.apiSecret ?? randomBytes(24).toString('hex');
    const configDir = await mkdtemp(join(tmpdir(), 'vo-livekit-'));
    await writeFile(join(configDir, 'livekit.yaml'), liveKitConfigYaml(ports, apiKey, apiSecret, options.logLevel ?? 'warn'));
    const server = new LiveKitTestServer(binary, configDir, ports, apiKey, apiSecret, options.readyTimeoutMs ?? 20_000);
    try {
      await server.launch();
    } catch (error) {
      await rm(configDir, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** WebSocket URL for clients and workers (`LIVEKIT_URL`). */
  get url(): string {
    return `ws://127.0.0.1:${this.ports.port}`;
  }

  /** HTTP URL for server APIs (`RoomServiceClient`, `AgentDispatchClient`). */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.ports.port}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Last lines the server printed (for failure messages). */
  output(): string {
    return this.proc?.output() ?? '';
  }

  /**
   * Stops the server. `hard: true` kills it at once (SIGKILL), like a crash. Otherwise SIGTERM (graceful:
   * it may wait for open connections), a second SIGTERM after `graceMs` (LiveKit's forced shutdown),
   * then SIGKILL. The config is kept so `restart()` can follow.
   */
  async halt(options: { hard?: boolean; graceMs?: number } = {}): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    if (options.hard) return proc.stop(0, 'SIGKILL');
    proc.signal('SIGTERM');
    if (await proc.exitsWithin(options.graceMs ?? 500)) return;
    proc.signal('SIGTERM');
    await proc.stop(2000, 'SIGTERM');
  }

  /** Stops (if running) and starts again on the same ports with the same keys. */
  async restart(options: { hard?: boolean; downMs?: number } = {}): Promise<void> {
    await this.halt(options);
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    await this.launch();
  }

  /** Stops the server for good and removes its config. */
  async stop(): Promise<void> {
    await this.halt();
    await rm(this.configDir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const proc = new PeerProcess({
      name: 'livekit-server',
      command: this.binary,
      args: ['--config', join(this.configDir, 'livekit.yaml')],
    });
    this.proc = proc;
    // The port may still be held for a moment after a restart: the probe keeps trying until the deadline.
    await waitUntilReady(proc, () => httpOk(`${this.httpUrl}/`), this.readyTimeoutMs, 'answering HTTP');
  }
}

/** Starts a loopback LiveKit server; see LiveKitTestServer. */
export function startLiveKitServer(options?: LiveKitServerOptions): Promise<LiveKitTestServer> {
  return LiveKitTestServer.start(options);
}
