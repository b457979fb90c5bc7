import type { Registry } from 'prom-client';
import type { AssistantsSource } from './assistants/watch.js';
import type { Component } from './component.js';
import type { LoadedConfig } from './config/load.js';
import { localModelsNeeded, type ProviderRole } from './config/providers.js';
import type { Config, Mode } from './config/schema.js';
import type { Logger } from './ops/logger.js';

export interface ComposeContext {
  config: Config;
  logger: Logger;
  metrics: Registry;
  /** The configuration's layers (the .env files): where the assistants' api_key_env variables may be set. */
  raw?: LoadedConfig['raw'];
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
 * when the configuration uses them (LLM_PROVIDER / STT_PROVIDER, or a `local` profile of
 * ASSISTANTS_FILE), so the agent starts with them ready. With ASSISTANTS_FILE the file is read here:
 * an invalid one stops the start with its messages.
 */
export async function composeComponents(mode: Mode, ctx: ComposeContext): Promise<Component[]> {
  const components: Component[] = [];
  const agentMode = mode === 'agent' || mode === 'hybrid';
  const assistants = agentMode && ctx.config.ASSISTANTS_FILE ? await assistantsPart(ctx, ctx.config.ASSISTANTS_FILE) : undefined;
  if (assistants) components.push(assistants.component);
  const localRoles = assistants && mode !== 'models' ? assistants.localRoles : localModelsNeeded(ctx.config);
  if (localRoles.length > 0) {
    const { createLocalModelsComponent } = await importPart('local-models', () => import('./local-models/index.js'));
    components.push(createLocalModelsComponent({ ...ctx, logger: ctx.logger.child({ component: 'local-models' }) }));
  }
  if (mode === 'models') return components;
  // one engine and speech service for every transport of this process (and the agent's job processes)
  const { createHostSpeech } = await importPart('speech', () => import('./speech/index.js'));
  const { component: tts, speech } = createHostSpeech({ ...ctx, mode });
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
    const source = assistants?.source;
    const keyEnv = assistants?.keyEnv;
    components.push(
      createAgentComponent({ ...ctx, logger: ctx.logger.child({ component: 'agent' }), speech, ...(source && keyEnv ? { assistants: source, keyEnv } : {}) }),
    );
    if (config.WEB_ENABLED) {
      const { createWebComponent } = await importPart('web', () => import('./web/index.js'));
      const web = { ...ctx, logger: ctx.logger.child({ component: 'web' }) };
      components.push(createWebComponent(source ? { ...web, assistants: () => source.current().assistants } : web));
    }
  }
  return components;
}

/** ASSISTANTS_FILE loaded and watched (and reloaded on SIGHUP), with the local models its profiles use. */
async function assistantsPart(
  ctx: ComposeContext,
  file: string,
): Promise<{ source: AssistantsSource; component: Component; localRoles: ProviderRole[]; keyEnv: NodeJS.ProcessEnv }> {
  const { AssistantsSource, keyEnvironment } = await importPart('assistants', () => import('./assistants/index.js'));
  const keyEnv = ctx.raw ? keyEnvironment(ctx.raw) : { ...process.env };
  const source = new AssistantsSource({ file, voicesDir: ctx.config.VOICES_DIR, env: keyEnv, sighup: true });
  const set = await source.start();
  const logger = ctx.logger.child({ component: 'assistants' });
  for (const warning of set.warnings) logger.warn(warning);
  source.on('changed', (next) => logger.info({ version: next.version, assistants: next.assistants.map((a) => a.name) }, 'assistants file reloaded'));
  source.on('watchError', (err) => logger.warn({ cause: err.message }, 'cannot watch the assistants file; SIGHUP still reloads it'));
  const uses = (role: ProviderRole) => set.assistants.some((a) => a[role].some((link) => link.provider === 'local'));
  const component: Component = {
    name: 'assistants',
    start: async () => logger.info({ file: set.file, version: set.version, assistants: set.assistants.map((a) => a.name) }, 'assistants file loaded'),
    stop: async () => source.stop(),
    health: () => ({ ready: true, detail: `version ${source.current().version}` }),
    status: () => ({ file: source.current().file, version: source.current().version, assistants: source.current().assistants.map((a) => a.name) }),
  };
  return { source, component, localRoles: (['llm', 'stt'] as const).filter(uses), keyEnv };
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
