import { readFileSync } from 'node:fs';
import { TokenBucket } from '../ops/rate-limit.js';
import { z } from 'zod';
import { providerKind, type ProviderRole } from '../config/providers.js';
import type { Config } from '../config/schema.js';
import { localModelName, localOrigin } from '../local-models/settings.js';

/** What the agent needs from the configuration (job processes receive exactly this). */
export type AgentConfig = Pick<
  Config,
  | 'LOG_LEVEL'
  | 'LOG_FORMAT'
  | 'LIVEKIT_URL'
  | 'LIVEKIT_API_KEY'
  | 'LIVEKIT_API_SECRET'
  | 'AGENT_NAME'
  | 'AGENT_HEALTH_PORT'
  | 'AGENT_INSTRUCTIONS'
  | 'AGENT_INSTRUCTIONS_FILE'
  | 'AGENT_GREETING'
  | 'AGENT_PROVIDER_TIMEOUT_MS'
  | 'AGENT_VAD_MIN_SILENCE_MS'
  | 'AGENT_EARLY_TRANSCRIPTION_MS'
  | 'AGENT_ENDPOINTING_DELAY_MS'
  | 'AGENT_PREEMPTIVE_GENERATION'
  | 'AGENT_INTERRUPT_MIN_MS'
  | 'AGENT_IDLE_PROCESSES'
  | 'AGENT_JOB_SEMI_SPACE_MB'
  | 'AGENT_JOB_HEAP_GROWING_PERCENT'
  | 'AGENT_MAX_SESSIONS'
  | 'AGENT_USER_AWAY_TIMEOUT_MS'
  | 'AGENT_MAX_CONVERSATION_MS'
  | 'AGENT_MAX_CHAT_CHARS'
  | 'AGENT_CHAT_RATE_PER_MIN'
  | 'LLM_PROVIDER'
  | 'STT_PROVIDER'
  | 'LOCAL_MODELS_HOST'
  | 'LOCAL_LLM_PORT'
  | 'LOCAL_STT_PORT'
  | 'LOCAL_LLM_MODEL'
  | 'LOCAL_STT_MODEL'
  | 'OPENAI_API_KEY'
  | 'LLM_MODEL'
  | 'LLM_BASE_URL'
  | 'STT_MODEL'
  | 'STT_BASE_URL'
  | 'STT_LANGUAGE'
  | 'TTS_VOICE'
>;

/** A provider reachable through the OpenAI plugin. */
export interface ProviderSettings {
  model: string;
  /** undefined = api.openai.com */
  baseURL: string | undefined;
  apiKey: string;
  /** Host shown in logs and metrics ("api.openai.com", "127.0.0.1:8000"). */
  provider: string;
}

/** Local OpenAI-compatible servers ignore the key, but the plugin refuses to start without one. */
const PLACEHOLDER_KEY = 'no-key-needed';

function providerHost(baseURL: string | undefined): string {
  if (!baseURL) return 'api.openai.com';
  try {
    return new URL(baseURL).host;
  } catch {
    return baseURL;
  }
}

function resolve(config: AgentConfig, role: ProviderRole): ProviderSettings | undefined {
  const kind = providerKind(config, role);
  if (kind === 'none') return undefined;
  if (kind === 'local') {
    const port = role === 'llm' ? config.LOCAL_LLM_PORT : config.LOCAL_STT_PORT;
    const baseURL = `${localOrigin(config.LOCAL_MODELS_HOST, port)}/v1`;
    const model = localModelName(role === 'llm' ? config.LOCAL_LLM_MODEL : config.LOCAL_STT_MODEL);
    return { model, baseURL, apiKey: PLACEHOLDER_KEY, provider: `local ${providerHost(baseURL)}` };
  }
  const baseURL = role === 'llm' ? config.LLM_BASE_URL : config.STT_BASE_URL;
  const model = role === 'llm' ? config.LLM_MODEL : config.STT_MODEL;
  return { model, baseURL, apiKey: config.OPENAI_API_KEY ?? PLACEHOLDER_KEY, provider: providerHost(baseURL) };
}

/** The LLM (LLM_PROVIDER: local, OpenAI or an OpenAI-compatible server), or undefined for `none`. */
export function llmSettings(config: AgentConfig): ProviderSettings | undefined {
  return resolve(config, 'llm');
}

/** Speech-to-text (STT_PROVIDER), or undefined for `none`. */
export function sttSettings(config: AgentConfig): ProviderSettings | undefined {
  return resolve(config, 'stt');
}

/** Startup warnings about providers turned off, each naming the variable that turns them on. */
export function providerWarnings(config: AgentConfig): string[] {
  const warnings: string[] = [];
  if (!llmSettings(config)) {
    warnings.push('no language model: LLM_PROVIDER=none; users who join will hear that no language model is configured (set LLM_PROVIDER=local or auto)');
  }
  if (!sttSettings(config)) {
    warnings.push('no speech-to-text: STT_PROVIDER=none; the agent cannot understand speech, only typed chat (set STT_PROVIDER=local or auto)');
  }
  return warnings;
}

/** AGENT_INSTRUCTIONS_FILE wins over AGENT_INSTRUCTIONS. Throws with the variable name when unreadable. */
export function resolveInstructions(config: Pick<AgentConfig, 'AGENT_INSTRUCTIONS' | 'AGENT_INSTRUCTIONS_FILE'>): string {
  if (!config.AGENT_INSTRUCTIONS_FILE) return config.AGENT_INSTRUCTIONS;
  let text: string;
  try {
    text = readFileSync(config.AGENT_INSTRUCTIONS_FILE, 'utf8');
  } catch (err) {
    throw new Error(`AGENT_INSTRUCTIONS_FILE cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text.trim().length === 0) throw new Error('AGENT_INSTRUCTIONS_FILE is empty');
  return text.trim();
}

const voiceMetadata = z.object({
  voice: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/),
});

/**
 * The voice asked for in room or participant metadata (`{"voice": "NAME"}`), participant first.
 * Anything else (no metadata, not JSON, no or bad voice field) yields undefined.
 */
export function voiceFromMetadata(...metadata: Array<string | undefined>): string | undefined {
  for (const raw of metadata) {
    if (!raw) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue;
    }
    const result = voiceMetadata.safeParse(parsed);
    if (result.success && !result.data.voice.startsWith('.')) return result.data.voice;
  }
  return undefined;
}

export const NO_LLM_NOTICE = 'Hello. No language model is configured for this assistant, so I cannot answer yet. Please ask the operator to set one up.';
export const STT_APOLOGY = "Sorry, I couldn't understand that because my speech recognition is having trouble. Please try again in a moment.";
export const LLM_APOLOGY = "Sorry, I'm having trouble thinking right now. Please try again in a moment.";
export const MAX_CONVERSATION_NOTICE = "We've reached the time limit for this conversation. Thank you for talking with me. Goodbye!";

/** Why a conversation is ended by the agent rather than by the user. */
export type ConversationEnd = 'no_participant' | 'user_away' | 'max_duration';

/**
 * Typed chat admission for one conversation: a token bucket of `perMinute` messages (full at the
 * start, refilled evenly over a minute). Every message counts, admitted or not, so a flood cannot
 * buy itself work by sending oversized messages.
 */
export function chatGate(perMinute: number, now?: () => number): TokenBucket {
  return new TokenBucket(perMinute / 60, perMinute, now);
}

/**
 * Reads a text stream up to `maxChars`. Returns the text, or undefined as soon as it is longer
 * (the iteration is ended, which closes the stream: the rest is never buffered).
 */
export async function readBoundedText(stream: AsyncIterable<string>, maxChars: number): Promise<string | undefined> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk;
    if (text.length > maxChars) return undefined;
  }
  return text;
}

export interface WatchdogOptions {
  /** No user in the room for this long ends the conversation. */
  awayMs: number;
  /** The conversation ends this long after start() whatever happens. */
  maxMs: number;
  onEnd: (reason: ConversationEnd) => void;
}

/**
 * The limits that keep a room from pinning an agent forever: nobody in the room for `awayMs`
 * (never joined, or left without saying goodbye) and a conversation longer than `maxMs`. Silence
 * with the user still present is the framework's user-away state (AgentSession userAwayTimeout),
 * reported here with userAway(). Ends once; stop() cancels everything.
 */
export class ConversationWatchdog {
  private absentTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly options: WatchdogOptions) {}

  /** Starts the maximum-length clock; the user counts as absent until usersPresent() says otherwise. */
  start(): void {
    this.maxTimer = setTimeout(() => this.end('max_duration'), this.options.maxMs);
    this.maxTimer.unref();
    this.usersPresent(0);
  }

  /** How many users (non-agent participants) are in the room now. */
  usersPresent(count: number): void {
    if (this.ended) return;
    if (count > 0) {
      clearTimeout(this.absentTimer);
      this.absentTimer = undefined;
    } else if (!this.absentTimer) {
      this.absentTimer = setTimeout(() => this.end('no_participant'), this.options.awayMs);
      this.absentTimer.unref();
    }
  }

  /** The framework marked the user away (present but silent, no typed message, for awayMs). */
  userAway(): void {
    this.end('user_away');
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  stop(): void {
    this.ended = true;
    clearTimeout(this.absentTimer);
    clearTimeout(this.maxTimer);
  }

  private end(reason: ConversationEnd): void {
    if (this.ended) return;
    this.stop();
    this.options.onEnd(reason);
  }
}
