/**
 * Entry of one local model server process, started (and restarted) by model-process.ts:
 *   node server-process.ts '<settings JSON>'
 * Loads the model, serves it on its port, tells the parent `{"type":"ready"}` over IPC, and on SIGTERM
 * finishes answers in progress (up to the deadline the parent sends) before exiting.
 */
import { setPriority } from 'node:os';
import { createLogger } from '../ops/logger.js';
import { EXIT_CANNOT_START } from './exit-codes.js';
import { type ServerSettings, serverSettings } from './settings.js';

interface RunningServer {
  stop(deadline: number): Promise<void>;
}

async function startServer(settings: ServerSettings, logger: ReturnType<typeof createLogger>): Promise<RunningServer> {
  if (settings.role === 'llm') {
    const { LlamaEngine } = await import('./llm/llama-engine.js');
    const { startChatServer } = await import('./llm/chat-server.js');
    const engine = await LlamaEngine.load({
      modelPath: settings.modelPath,
      runtimeEntry: settings.runtimeEntry,
      name: settings.name,
      parallel: settings.parallel,
      contextSize: settings.contextTokens,
      threads: settings.threads,
    });
    const server = await startChatServer({
      engine,
      logger,
      host: settings.host,
      port: settings.port,
      defaultMaxTokens: settings.maxTokens,
      maxTokensCap: settings.maxTokens,
      maxInFlight: settings.parallel + settings.maxQueue,
    });
    return {
      async stop(deadline) {
        await server.stop(deadline);
        await engine.dispose();
      },
    };
  }
  const { startSttServer } = await import('./stt/start.js');
  return startSttServer(settings, logger);
}

/** Before the model loads: Linux applies it to this thread, and the inference threads started later inherit it. */
function lowerPriority(nice: number, logger: ReturnType<typeof createLogger>): void {
  try {
    setPriority(nice);
  } catch (err) {
    logger.warn({ nice, err: (err as Error).message }, 'could not lower the process priority; running at the default');
  }
}

async function main(): Promise<void> {
  const parsed = serverSettings.safeParse(JSON.parse(process.argv[2] ?? 'null'));
  if (!parsed.success) {
    process.stderr.write(`local model server: bad settings: ${parsed.error.message}\n`);
    process.exit(EXIT_CANNOT_START);
  }
  const settings = parsed.data;
  const logger = createLogger({ LOG_LEVEL: settings.logLevel as 'info', LOG_FORMAT: settings.logFormat }).child({ component: `local-${settings.role}` });
  let server: RunningServer;
  try {
    if (settings.nice > 0) lowerPriority(settings.nice, logger);
    server = await startServer(settings, logger);
  } catch (err) {
    process.stderr.write(`local ${settings.role.toUpperCase()} server cannot start: ${(err as Error).message}\n`);
    process.exit(EXIT_CANNOT_START);
  }
  logger.info({ model: settings.name, port: settings.port }, `local ${settings.role.toUpperCase()} server ready`);
  process.send?.({ type: 'ready' });

  let stopping = false;
  const stop = (deadline: number) => {
    if (stopping) return;
    stopping = true;
    void server.stop(deadline).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), Math.max(0, deadline - Date.now()) + 1000).unref();
  };
  process.on('message', (message: unknown) => {
    const m = message as { type?: unknown; deadline?: unknown };
    if (m?.type === 'stop' && typeof m.deadline === 'number') stop(m.deadline);
  });
  process.once('SIGTERM', () => stop(Date.now() + 5000));
  process.once('SIGINT', () => stop(Date.now() + 5000));
  // The parent is gone (crashed or killed): do not outlive it.
  process.once('disconnect', () => stop(Date.now() + 1000));
}

await main();
