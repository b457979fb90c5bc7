import type { AssistantsFileDocument, ProfileDocument } from './schema.js';
import type { Assistant, AssistantsSet, ChainLink, Profile, ResolvedChain } from './types.js';

/** What an `openai` profile on OpenAI itself (no base_url) reads its key from when it names no variable, as without a file. */
export const DEFAULT_OPENAI_KEY_ENV = 'OPENAI_API_KEY';

function toProfile(name: string, doc: ProfileDocument): Profile {
  const apiKeyEnv = doc.api_key_env ?? (doc.provider === 'openai' && doc.base_url === undefined ? DEFAULT_OPENAI_KEY_ENV : undefined);
  return {
    name,
    provider: doc.provider,
    ...(doc.base_url !== undefined ? { baseURL: doc.base_url } : {}),
    ...(doc.model !== undefined ? { model: doc.model } : {}),
    ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
    fallback: doc.fallback ?? [],
  };
}

function link(profile: Profile): ChainLink {
  const { name, fallback: _fallback, ...rest } = profile;
  return { profile: name, ...rest };
}

/** The profile, then its fallbacks breadth first, each once. The schema has checked that every name exists. */
export function resolveChain(start: string, profiles: Readonly<Record<string, Profile>>): ResolvedChain {
  const order: string[] = [start];
  for (let i = 0; i < order.length; i++) {
    for (const next of profiles[order[i]!]?.fallback ?? []) if (!order.includes(next)) order.push(next);
  }
  return order.map((name) => link(profiles[name]!));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export interface ResolveInput {
  doc: AssistantsFileDocument;
  /** The text of each assistant's instructions_file, by assistant index. */
  instructionsFromFiles: ReadonlyMap<number, string>;
  file: string;
  version: number;
  env: NodeJS.ProcessEnv;
}

/** The typed, frozen set of a valid document. */
export function resolveSet(input: ResolveInput): AssistantsSet {
  const profiles: Record<string, Profile> = Object.fromEntries(Object.entries(input.doc.profiles).map(([name, doc]) => [name, toProfile(name, doc)]));
  const assistants: Assistant[] = input.doc.assistants.map((doc, index) => ({
    name: doc.name,
    instructions: doc.instructions ?? input.instructionsFromFiles.get(index) ?? '',
    ...(doc.instructions_file !== undefined ? { instructionsFile: doc.instructions_file } : {}),
    greeting: doc.greeting ?? '',
    voice: doc.voice,
    llm: resolveChain(doc.llm, profiles),
    stt: resolveChain(doc.stt, profiles),
    ...(doc.max_sessions !== undefined ? { maxSessions: doc.max_sessions } : {}),
  }));
  return deepFreeze({ version: input.version, file: input.file, assistants, profiles, warnings: keyWarnings(assistants, input.env) });
}

/** Profiles in use whose key variable is not set: not an error (a fallback may serve), but the operator should know. */
function keyWarnings(assistants: readonly Assistant[], env: NodeJS.ProcessEnv): string[] {
  const warned = new Set<string>();
  const warnings: string[] = [];
  for (const assistant of assistants) {
    for (const step of [...assistant.llm, ...assistant.stt]) {
      if (step.apiKeyEnv === undefined || warned.has(step.profile)) continue;
      if ((env[step.apiKeyEnv] ?? '').trim() === '') {
        warned.add(step.profile);
        warnings.push(`profiles.${step.profile}: the environment variable ${step.apiKeyEnv} (api_key_env) is not set, so this profile has no key`);
      }
    }
  }
  return warnings;
}
