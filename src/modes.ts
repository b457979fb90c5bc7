import type { Registry } from 'prom-client';
import type { Component } from './component.js';
import { localModelsNeeded } from './config/providers.js';
import type { Config, Mode } from './config/schema.js';
import type { Logger } from './ops/logger.js';

export interface ComposeContext {
  config: Config;
  logger: Logger;
  metrics: Registry;
}

/**
 * What each mode runs, in start order. Parts are imported lazily so one mode never loads another's
 * code, and each mode creates only what it uses:
 * - legacy, agent and hybrid: the Piper engine (tts) and the speech service that shares it;
 * - legacy: the speech server on LEGACY_PORT (legacy WebSocket and OpenAI /v1/audio/speech) and,
 *   with WYOMING_ENABLED, the Wyoming server;
 * - agent: the LiveKit worker, whose job processes speak through this process's speech service
 *   (they load no voice), and, unless WEB_ENABLED=false, the web page and token endpoint;
 * - hybrid: both;
 * - models: only the local model servers.
 * In agent, hybrid and models modes the local speech-to-text and language model servers come first
 * when the configuration uses them (LLM_PROVIDER / STT_PROVIDER), so the agent starts with them ready.
 */
export async function composeComponents(mode: Mode, ctx: ComposeContext): Promise<Component[]> {
  const components: Component[] = [];
  if (localModelsNeeded(ctx.config).length > 0) {
    const { createLocalModelsComponent } = await importPart('local-models', () => import('./local-models/index.js'));
    components.push(createLocalModelsComponent({ ...ctx, logger: ctx.logger.child({ component: 'local-models' }) }));
  }
  if (mode === 'models') return components;
  // one engine and speech service for every transport of this process (and the agent's job processes)
  const { createHostSpeech } = await importPart('speech', () => import('./speech/index.js'));
  const { component: tts, speech } = createHostSpeech(ctx);
  components.push(tts);
  const { config } = ctx;
  if (mode === 'legacy' || mode === 'hybrid') {
    const { createLegacyComponent } = await importPart('legacy', () => import('./legacy/index.js'));
    components.push(createLegacyComponent({ ...ctx, logger: ctx.logger.child({ component: 'legacy' }), tts: speech.tts, speech }));
    if (config.WYOMING_ENABLED) {
      const { createWyomingComponent } = await importPart('wyoming', () => import('./wyoming/index.js'));
      components.push(createWyomingComponent({ config, logger: ctx.logger.child({ component: 'wyoming' }), speech }));
    }
  }
  if (mode === 'agent' || mode === 'hybrid') {
    const { createAgentComponent } = await importPart('agent', () => import('./agent/index.js'));
    components.push(createAgentComponent({ ...ctx, logger: ctx.logger.child({ component: 'agent' }), speech }));
    if (config.WEB_ENABLED) {
      const { createWebComponent } = await importPart('web', () => import('./web/index.js'));
      components.push(createWebComponent({ ...ctx, logger: ctx.logger.child({ component: 'web' }) }));
    }
  }
  return components;
}

export class MissingPartError extends Error {}

async function importPart<T>(part: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`/${part}/index`)) {
      throw new MissingPartError(`the ${part} part of this build is missing (src/${part}/index.ts); this mode cannot run`);
    }
    throw err;
  }
}
