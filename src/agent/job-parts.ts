/** The pieces of a job process's conversation that need no session: its assistant, models and speech. */
import { llm as llmBase } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { VoiceCatalog } from '../speech/voices.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { WyomingSynthesizer } from '../wyoming/client.js';
import { type AssistantSpec, specFromConfig } from './assistant-spec.js';
import type { ControlClient } from './control-channel.js';
import { describeError } from './resilient-stt.js';
import type { ProviderSettings } from './settings.js';
import { SPEECH_SOCKET_ENV } from './speech-link.js';

/**
 * The assistant registered under `agentName`, as the main process published it; the AGENT_*
 * variables' assistant when this process was not started by our component.
 */
export async function assistantSpec(control: ControlClient | undefined, agentName: string, config: Config): Promise<AssistantSpec> {
  if (!control) return specFromConfig(config);
  // published right after the config: only a process started within the last moment waits
  for (let waited = 0; waited < 5000; waited += 50) {
    const spec = control.assistant(agentName);
    if (spec) return spec;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`assistant "${agentName}" is not configured (any more): the job is declined`);
}

/** The LLM chain: its first profile, and the next ones in turn when it errors or times out (no apology when one answers). */
export function conversationLlm(chain: ProviderSettings[], timeoutMs: number): llmBase.LLM | undefined {
  const models = chain.map((p) => new openai.LLM({ model: p.model, baseURL: p.baseURL, apiKey: p.apiKey }));
  if (models.length <= 1) return models[0];
  return new llmBase.FallbackAdapter({ llms: models, attemptTimeout: timeoutMs / 1000, maxRetryPerLLM: 0, retryInterval: 0.1 });
}

/**
 * The main process's speech service when this process was forked by our agent component (one
 * engine for every room of the host); a Piper engine of its own only when started some other way
 * (LiveKit's own CLI).
 */
export async function speechEngine(config: Config): Promise<SpeechSynthesizer> {
  const socket = process.env[SPEECH_SOCKET_ENV];
  if (socket) return new WyomingSynthesizer({ path: socket, voices: new VoiceCatalog(config.VOICES_DIR, config.TTS_VOICE) });
  // imported here: a job process of ours never loads onnxruntime for speech
  const { PiperEngine } = await import('../tts/engine.js');
  const engine = new PiperEngine(config);
  await engine.load(config.TTS_VOICE, config.TTS_WARMUP);
  return engine;
}

/** The requested voice when it loads, otherwise the default one. */
export async function pickVoice(engine: SpeechSynthesizer, fallback: string, requested: string | undefined, logger: Logger): Promise<string> {
  if (!requested || requested === fallback) return fallback;
  try {
    await engine.sampleRate(requested);
    return requested;
  } catch (err) {
    logger.warn({ requested, fallback, cause: describeError(err) }, 'voice from metadata unavailable; using the default voice');
    return fallback;
  }
}

/** A model as the page names it: "SmolLM2-135M-Instruct.Q4_1 (local)", "gpt-4.1-mini (api.openai.com)". */
export function shownModel(settings: ProviderSettings | undefined): string {
  if (!settings) return 'none';
  return settings.provider.startsWith('local ') ? `${settings.model} (local)` : `${settings.model} (${settings.provider})`;
}
