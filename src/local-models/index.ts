import { Counter, Gauge, type Registry } from 'prom-client';
import type { Component, ComponentHealth } from '../component.js';
import { localModelsNeeded } from '../config/providers.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { ModelProcess } from './model-process.js';
import { localOrigin, serverSettingsFor } from './settings.js';

export interface LocalModelsDeps {
  config: Config;
  logger: Logger;
  metrics: Registry;
}

/**
 * The local language model and speech-to-text servers this configuration needs (see LLM_PROVIDER,
 * STT_PROVIDER and `models` mode), each in its own supervised process, one per host, shared by every
 * room through their OpenAI-compatible endpoints. Model files are checked before anything starts.
 */
export function createLocalModelsComponent(deps: LocalModelsDeps): Component {
  const { config, logger } = deps;
  const roles = localModelsNeeded(config);
  // Throws LocalModelFileError (naming the file and `npm run setup`) before anything starts.
  const settings = roles.map((role) => serverSettingsFor(role, config));
  const restarts = new Counter({
    name: 'local_model_restarts_total',
    help: 'Unexpected ends of a local model server process (each was restarted).',
    labelNames: ['role'],
    registers: [deps.metrics],
  });
  const processes = settings.map(
    (s) =>
      new ModelProcess({
        settings: s,
        logger: logger.child({ model_role: s.role }),
        startTimeoutMs: config.LOCAL_MODELS_START_TIMEOUT_MS,
        onRestart: () => restarts.inc({ role: s.role }),
      }),
  );
  new Gauge({
    name: 'local_model_memory_bytes',
    help: 'Resident memory of each local model server process, from its last health check.',
    labelNames: ['role'],
    registers: [deps.metrics],
    collect() {
      for (const p of processes) {
        const bytes = p.lastHealth?.['memory_bytes'];
        if (typeof bytes === 'number') this.set({ role: p.role }, bytes);
      }
    },
  });

  return {
    name: 'local-models',
    async start() {
      // Both load at once: the LLM and Whisper each take a second or more.
      const results = await Promise.allSettled(processes.map((p) => p.start()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await Promise.all(processes.map((p) => p.stop(Date.now() + 2000)));
        throw failed.reason;
      }
    },
    async stop(deadline) {
      await Promise.all(processes.map((p) => p.stop(deadline)));
    },
    health(): ComponentHealth {
      const notReady = processes.filter((p) => !p.ready);
      if (notReady.length === 0) return { ready: true, detail: processes.map((p) => `${p.role} ready`).join(', ') || 'none needed' };
      return { ready: false, detail: notReady.map((p) => `${p.role} ${p.state}`).join(', ') };
    },
    status() {
      return Object.fromEntries(
        processes.map((p, i) => {
          const s = settings[i]!;
          const h = p.lastHealth ?? {};
          return [
            p.role,
            {
              model: s.name,
              url: `${localOrigin(s.host, s.port)}/v1`,
              state: p.state,
              pid: p.pid ?? null,
              restarts: p.restarts,
              memory_bytes: h['memory_bytes'] ?? null,
              requests: h['requests'] ?? null,
            },
          ];
        }),
      );
    },
  };
}
