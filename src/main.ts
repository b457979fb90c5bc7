/** Entrypoint: validate configuration, compose the mode's components, serve ops endpoints, drain on signals. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from './app.js';
import { ConfigError, loadConfig, PROJECT_ROOT } from './config/load.js';
import { createLogger, type Logger } from './ops/logger.js';
import { createMetricsRegistry } from './ops/metrics.js';
import { OpsServer } from './ops/server.js';
import { composeComponents, MissingPartError } from './modes.js';

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config } = loaded;
  const mode = config.ORCHESTRATOR_MODE;
  const version = readVersion();
  const logger = createLogger(config).child({ mode });
  logger.info({ version, node: process.version, pid: process.pid }, `starting voice-orchestrator in ${mode} mode`);

  const metrics = createMetricsRegistry(mode);
  let app: App;
  try {
    app = new App(mode, version, await composeComponents(mode, { config, logger, metrics }), logger);
  } catch (err) {
    if (err instanceof MissingPartError) {
      logger.fatal(err.message);
      await flush(logger);
      process.exit(1);
    }
    throw err;
  }
  const ops = new OpsServer({ host: config.HEALTH_HOST, port: config.HEALTH_PORT, app, metrics, logger });

  let stopping = false;
  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
    logger.info({ reason, timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: draining work in flight');
    // A component that ignores its deadline must not keep the process alive forever.
    setTimeout(() => {
      logger.error('shutdown deadline passed with components still stopping; exiting');
      void flush(logger).then(() => process.exit(1));
    }, config.SHUTDOWN_TIMEOUT_MS + 2000).unref();
    await app.stop(deadline);
    await ops.stop();
    logger.info({ reason }, 'stopped');
    await flush(logger);
    process.exit(exitCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting at once');
        process.exit(130);
      }
      void shutdown(signal, 0);
    });
  }
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    void shutdown('uncaught exception', 1);
  });

  await ops.start();
  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, `could not start: ${(err as Error).message}`);
    await shutdown('start failed', 1);
    return;
  }
  logger.info({ ...app.readiness() }, 'ready');
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

await main();
