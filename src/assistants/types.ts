/** The effective assistants of an assistants file (ASSISTANTS_FILE), as the service uses them. */

export const PROVIDERS = ['local', 'openai', 'openai-compatible'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A named provider from the file's `profiles:` section. */
export interface Profile {
  readonly name: string;
  readonly provider: Provider;
  /** Absent for `local` (the service's own models) and for `openai` on OpenAI itself. */
  readonly baseURL?: string;
  /** Absent for `local`. */
  readonly model?: string;
  /** Name of the environment variable holding the key (never the key). */
  readonly apiKeyEnv?: string;
  /** Profile names, in the order they are tried when this one fails. */
  readonly fallback: readonly string[];
}

/** One provider of a resolved chain: what to try, in order. */
export interface ChainLink {
  readonly profile: string;
  readonly provider: Provider;
  readonly baseURL?: string;
  readonly model?: string;
  readonly apiKeyEnv?: string;
}

/**
 * The profile an assistant names, then its fallbacks, then theirs (breadth first, so a profile's
 * own list is tried before its fallbacks' fallbacks), each profile once.
 */
export type ResolvedChain = readonly ChainLink[];

export interface Assistant {
  /** The LiveKit agent name it registers for explicit dispatch. */
  readonly name: string;
  /** The instructions text (read from `instructions_file` when the file names one). */
  readonly instructions: string;
  /** The instructions_file as written in the assistants file (relative to its folder), when the text comes from one. */
  readonly instructionsFile?: string;
  /** Spoken when a user joins; empty = no greeting. */
  readonly greeting: string;
  /** An installed Piper voice (VOICES_DIR/<voice>.onnx and .onnx.json). */
  readonly voice: string;
  readonly llm: ResolvedChain;
  readonly stt: ResolvedChain;
  readonly maxSessions?: number;
}

export interface AssistantsSet {
  /** 1 for the first load; each accepted reload adds one. */
  readonly version: number;
  /** The file as it may be shown: as the user gave it, or `~/...`, never an absolute home path. */
  readonly file: string;
  readonly assistants: readonly Assistant[];
  readonly profiles: Readonly<Record<string, Profile>>;
  /** Not errors, but worth telling the operator (e.g. a key variable that is not set). */
  readonly warnings: readonly string[];
}
