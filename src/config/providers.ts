import type { Config } from './schema.js';

/** Where the agent's language model or speech-to-text comes from, after `auto` is decided. */
export type ProviderKind = 'local' | 'openai' | 'none';
export type ProviderRole = 'llm' | 'stt';

type ProviderConfig = Pick<Config, 'LLM_PROVIDER' | 'STT_PROVIDER' | 'OPENAI_API_KEY' | 'LLM_BASE_URL' | 'STT_BASE_URL'>;

/** `auto` means: a configured OpenAI key or server wins, otherwise the built-in local model. */
export function providerKind(config: ProviderConfig, role: ProviderRole): ProviderKind {
  const choice = role === 'llm' ? config.LLM_PROVIDER : config.STT_PROVIDER;
  if (choice !== 'auto') return choice;
  const baseURL = role === 'llm' ? config.LLM_BASE_URL : config.STT_BASE_URL;
  return config.OPENAI_API_KEY || baseURL ? 'openai' : 'local';
}

/** The local models this configuration needs served (none for legacy mode, both for models mode). */
export function localModelsNeeded(config: ProviderConfig & Pick<Config, 'ORCHESTRATOR_MODE'>): ProviderRole[] {
  const mode = config.ORCHESTRATOR_MODE;
  if (mode === 'models') return ['llm', 'stt'];
  if (mode === 'legacy') return [];
  return (['llm', 'stt'] as const).filter((role) => providerKind(config, role) === 'local');
}
