/** Entrypoint: validate configuration, compose the mode's components, serve ops endpoints, drain on signals. */
import './ops/no-telemetry.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from './app.js';
import { ConfigError, loadConfig, PROJECT_ROOT } from './config/load.js';
import { createLogger, type Logger } from './ops/logger.js';
import { createMetricsRegistry } from './ops/metrics.js';
import { createProcessGuard } from './ops/process-guard.js';
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
  // Installed before anything starts; shutdown() is set below (an early fatal ends the process directly).
  let shutdown: ((reason: string, exitCode: number, budgetMs?: number) => Promise<void>) | undefined;
  createProcessGuard({
    logger,
    metrics,
    onFatal: (reason) => {
      if (shutdown) void shutdown(reason, 1, FATAL_SHUTDOWN_MS);
      else void flush(logger).then(() => process.exit(1));
    },
  }).install();

  let app: App;
  try {
    app = new App(mode, version, await composeComponents(mode, { config, logger, metrics, raw: loaded.raw }), logger);
  } catch (err) {
    if (err instanceof MissingPartError) logger.fatal(err.message);
    else logger.fatal({ err }, `could not start: ${(err as Error).message}`);
    await flush(logger);
    process.exit(1);
  }
  const ops = new OpsServer({ host: config.HEALTH_HOST, port: config.HEALTH_PORT, app, metrics, logger });

  let stopping = false;
  let hardExit: NodeJS.Timeout | undefined;
  /** Exits with `exitCode` after `ms` whatever is still running. Kept referenced: the exit code must be ours. */
  const armHardExit = (ms: number, exitCode: number) => {
    clearTimeout(hardExit);
    hardExit = setTimeout(() => {
      logger.error({ exit_code: exitCode }, 'shutdown deadline passed with components still stopping; exiting');
      void flush(logger).then(() => process.exit(exitCode));
    }, ms);
  };
  shutdown = async (reason: string, exitCode: number, budgetMs = config.SHUTDOWN_TIMEOUT_MS) => {
    if (stopping) {
      // Already draining (e.g. after SIGTERM) and now fatal: do not wait for the full drain.
      if (exitCode !== 0) armHardExit(budgetMs, exitCode);
      return;
    }
    stopping = true;
    const deadline = Date.now() + budgetMs;
    logger.info({ reason, timeout_ms: budgetMs }, 'shutting down: draining work in flight');
    // A component that ignores its deadline must not keep the process alive forever.
    armHardExit(budgetMs + 2000, exitCode === 0 ? 1 : exitCode);
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
      void shutdown?.(signal, 0);
    });
  }

  try {
    await ops.start();
  } catch (err) {
    logger.fatal({ err }, `could not start: ${(err as Error).message}`);
    await shutdown('start failed', 1);
    return;
  }
  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, `could not start: ${(err as Error).message}`);
    await shutdown('start failed', 1);
    return;
  }
  logger.info({ ...app.readiness() }, 'ready');
}

/** After repeated uncaught exceptions the process is suspect: stop within this, not SHUTDOWN_TIMEOUT_MS. */
const FATAL_SHUTDOWN_MS = 2000;

/** Flushes the log, but never waits longer than `ms` (a broken destination must not hold the exit). */
function flush(logger: Logger, ms = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    try {
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

await main();
