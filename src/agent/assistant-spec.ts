/**
 * What one assistant's conversation needs, resolved in the main process and handed to the job
 * processes: from ASSISTANTS_FILE (one per assistant, a new version at each accepted reload), or
 * the single assistant of the AGENT_* variables. A conversation keeps the spec it started with.
 */
import type { Assistant, ChainLink } from '../assistants/types.js';
import { type AgentConfig, llmSettings, type ProviderSettings, resolveInstructions, sttSettings } from './settings.js';
import { localModelName, localOrigin } from '../local-models/settings.js';

export interface AssistantSpec {
  /** The LiveKit agent name its worker registers for explicit dispatch. */
  name: string;
  /** The assistants file's version it comes from (0: from the environment). */
  version: number;
  instructions: string;
  greeting: string;
  voice: string;
  /** Tried in order: the next one answers when the current one errors or times out. Empty: none configured. */
  llm: ProviderSettings[];
  stt: ProviderSettings[];
  maxSessions: number;
}

/** Local OpenAI-compatible servers ignore the key, but the plugin refuses to start without one. */
const PLACEHOLDER_KEY = 'no-key-needed';

/** The single assistant of the AGENT_* variables (no ASSISTANTS_FILE). */
export function specFromConfig(config: AgentConfig): AssistantSpec {
  const llm = llmSettings(config);
  const stt = sttSettings(config);
  return {
    name: config.AGENT_NAME,
    version: 0,
    instructions: resolveInstructions(config),
    greeting: config.AGENT_GREETING,
    voice: config.TTS_VOICE,
    llm: llm ? [llm] : [],
    stt: stt ? [stt] : [],
    maxSessions: config.AGENT_MAX_SESSIONS,
  };
}

/** One assistant of the file, its profiles turned into providers (keys read from `env` by the variable each names). */
export function specFromAssistant(assistant: Assistant, version: number, config: AgentConfig, env: NodeJS.ProcessEnv): AssistantSpec {
  return {
    name: assistant.name,
    version,
    instructions: assistant.instructions,
    greeting: assistant.greeting,
    voice: assistant.voice,
    llm: assistant.llm.map((link) => provider(link, 'llm', config, env)),
    stt: assistant.stt.map((link) => provider(link, 'stt', config, env)),
    maxSessions: assistant.maxSessions ?? config.AGENT_MAX_SESSIONS,
  };
}

function provider(link: ChainLink, role: 'llm' | 'stt', config: AgentConfig, env: NodeJS.ProcessEnv): ProviderSettings {
  if (link.provider === 'local') {
    const baseURL = `${localOrigin(config.LOCAL_MODELS_HOST, role === 'llm' ? config.LOCAL_LLM_PORT : config.LOCAL_STT_PORT)}/v1`;
    const model = localModelName(role === 'llm' ? config.LOCAL_LLM_MODEL : config.LOCAL_STT_MODEL);
    return { model, baseURL, apiKey: PLACEHOLDER_KEY, provider: `local ${new URL(baseURL).host} (${link.profile})` };
  }
  const apiKey = (link.apiKeyEnv ? env[link.apiKeyEnv] : undefined) || PLACEHOLDER_KEY;
  const host = link.baseURL ? new URL(link.baseURL).host : 'api.openai.com';
  return { model: link.model ?? (role === 'llm' ? config.LLM_MODEL : config.STT_MODEL), baseURL: link.baseURL, apiKey, provider: `${host} (${link.profile})` };
}
