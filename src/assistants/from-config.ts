import type { LoadedConfig } from '../config/load.js';
import type { LoadAssistantsOptions } from './load.js';

/**
 * The environment a profile's api_key_env is looked up in: the process environment plus the
 * variables set in the .env layers (where OPENAI_API_KEY usually lives), the environment winning.
 */
export function keyEnvironment(raw: LoadedConfig['raw'], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const fromLayers = Object.fromEntries(Object.entries(raw).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return { ...fromLayers, ...env };
}

/** Loader options for the configured service: VOICES_DIR, and keys from the environment and the .env layers. */
export function assistantsOptions(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): LoadAssistantsOptions {
  return { voicesDir: loaded.config.VOICES_DIR, env: keyEnvironment(loaded.raw, env) };
}
