import type { Registry } from 'prom-client';
import type { Component } from './component.js';
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
 * - legacy: the Piper engine (tts) and the WebSocket server that speaks with it;
 * - agent: the LiveKit worker (its job processes load their own engine) and, unless
 *   WEB_ENABLED=false, the web page and token endpoint; no engine in this process;
 * - hybrid: both.
 */
export async function composeComponents(mode: Mode, ctx: ComposeContext): Promise<Component[]> {
  const components: Component[] = [];
  if (mode === 'legacy' || mode === 'hybrid') {
    const { createTtsComponent } = await importPart('tts', () => import('./tts/index.js'));
    const tts = createTtsComponent({ ...ctx, logger: ctx.logger.child({ component: 'tts' }) });
    const { createLegacyComponent } = await importPart('legacy', () => import('./legacy/index.js'));
    components.push(tts.component, createLegacyComponent({ ...ctx, logger: ctx.logger.child({ component: 'legacy' }), tts: tts.engine }));
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
