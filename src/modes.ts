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
 * - legacy: the Piper engine (tts), the speech service that shares it, the speech server on
 *   LEGACY_PORT (legacy WebSocket and OpenAI /v1/audio/speech) and, with WYOMING_ENABLED, the
 *   Wyoming server;
 * - agent: the LiveKit worker (its job processes load their own engine) and, unless
 *   WEB_ENABLED=false, the web page and token endpoint; no engine in this process;
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
  if (mode === 'legacy' || mode === 'hybrid') {
    const { createTtsComponent } = await importPart('tts', () => import('./tts/index.js'));
    const tts = createTtsComponent({ ...ctx, logger: ctx.logger.child({ component: 'tts' }) });
    // one speech service (engine, scheduler, voices, metrics) for every protocol of the speech server
    const { SpeechService } = await importPart('speech', () => import('./speech/index.js'));
    const { config } = ctx;
    const speech = new SpeechService({
      tts: tts.engine,
      registry: ctx.metrics,
      voicesDir: config.VOICES_DIR,
      defaultVoice: config.TTS_VOICE,
      maxTextChars: config.LEGACY_MAX_TEXT_CHARS,
    });
    const { createLegacyComponent } = await importPart('legacy', () => import('./legacy/index.js'));
    components.push(tts.component, createLegacyComponent({ ...ctx, logger: ctx.logger.child({ component: 'legacy' }), tts: tts.engine, speech }));
    if (config.WYOMING_ENABLED) {
      const { createWyomingComponent } = await importPart('wyoming', () => import('./wyoming/index.js'));
      components.push(createWyomingComponent({ config, logger: ctx.logger.child({ component: 'wyoming' }), speech }));
    }
  }
  if (mode === 'agent' || mode === 'hybrid') {
    const { createAgentComponent } = await importPart('agent', () => import('./agent/index.js'));
    components.push(createAgentComponent({ ...ctx, logger: ctx.logger.child({ component: 'agent' }) }));
    if (ctx.config.WEB_ENABLED) {
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
