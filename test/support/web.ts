import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { createWebComponent, type WebComponent } from '../../src/web/index.js';

/** Test-only: a real web component on an ephemeral loopback port, with the given variables on top of the defaults. */
export interface RunningWeb {
  web: WebComponent;
  baseUrl: string;
  config: Config;
  logs: string[];
  stop(): Promise<void>;
}

export async function startWeb(env: Record<string, string>, options: { bundleDir?: string } = {}): Promise<RunningWeb> {
  // An empty folder, so a developer's .env cannot change what the test sees.
  const dir = await mkdtemp(join(tmpdir(), 'vo-web-test-'));
  try {
    const { config } = loadConfig({ dir, env: { WEB_HOST: '127.0.0.1', WEB_PORT: '0', LOG_LEVEL: 'info', ...env } });
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    const web = createWebComponent({ config, logger: createLogger(config, sink), metrics: createMetricsRegistry('agent'), ...options });
    await web.start();
    const address = web.address();
    if (!address) throw new Error('web component has no address after start');
    return {
      web,
      config,
      logs,
      baseUrl: `http://127.0.0.1:${address.port}`,
      stop: () => web.stop(Date.now() + 2000),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Debian's Chromium, started the way this machine allows: headless, no sandbox (root), no background traffic. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_BASE_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
];
