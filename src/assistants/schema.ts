import { z } from 'zod';
import { PROVIDERS } from './types.js';

/**
 * The one schema of an assistants file (ASSISTANTS_FILE). Every message is the accepted form
 * (the loader adds the path and the value); strict objects catch misspelt fields. What needs the
 * disk (voices, instructions files) is checked by the loader.
 */

/** LiveKit agent names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_ACCEPTED = '1 to 64 characters from A-Z a-z 0-9 _ -';
/** Profile names are keys of a mapping: they start with a letter or digit, so `__proto__` cannot be one. */
export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const PROFILE_NAME_ACCEPTED = '1 to 64 characters from A-Z a-z 0-9 _ -, starting with a letter or digit';
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const VOICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

export const MAX_INSTRUCTIONS_CHARS = 64 * 1024;
export const MAX_GREETING_CHARS = 2000;
export const MAX_ASSISTANTS = 64;
export const MAX_FALLBACKS = 8;
export const MAX_SESSIONS_RANGE = [1, 1000] as const;

/** Fields that would hold a credential: refused whatever their value, which is never shown. */
export const CREDENTIAL_FIELDS = ['api_key', 'apiKey', 'key', 'token', 'secret', 'password'] as const;
export const KEY_REFUSED = 'keys never go in the file: put the key in an environment variable and name that variable with api_key_env';
/** Marks a custom issue whose message is a whole sentence rather than the accepted form. */
export const SENTENCE = { sentence: true } as const;

const noKey = () => z.never({ error: KEY_REFUSED }).optional();

/** A strict object whose unknown-field message lists the fields it accepts. */
function strict<S extends z.ZodRawShape>(shape: S, what: string) {
  const accepted = Object.keys(shape)
    .filter((k) => !(CREDENTIAL_FIELDS as readonly string[]).includes(k))
    .join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field; ${what} accepts: ${accepted}` : `${what} with the fields ${accepted}`),
  });
}

const agentName = z.string({ error: `a LiveKit agent name: ${NAME_ACCEPTED}` }).regex(NAME_PATTERN, `a LiveKit agent name: ${NAME_ACCEPTED}`);
const profileName = (what: string) => z.string({ error: `${what}: ${PROFILE_NAME_ACCEPTED}` }).regex(PROFILE_NAME_PATTERN, `${what}: ${PROFILE_NAME_ACCEPTED}`);

const httpUrl = z
  .string({ error: 'an http:// or https:// URL' })
  .trim()
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'an http:// or https:// URL')
  .refine((v) => {
    try {
      const url = new URL(v);
      const credentialParam = [...url.searchParams.keys()].some((k) => /key|token|secret|pass|auth|sig/i.test(k));
      return url.username === '' && url.password === '' && !credentialParam;
    } catch {
      return true;
    }
  }, `a URL without credentials: ${KEY_REFUSED}`);

const profileSchema = strict(
  {
    provider: z.enum(PROVIDERS, { error: `one of ${PROVIDERS.join(', ')}` }),
    model: z.string({ error: 'a model name' }).trim().min(1, 'a model name').max(200, 'a model name of at most 200 characters').optional(),
    base_url: httpUrl.optional(),
    api_key_env: z
      .string({ error: 'the name of an environment variable (e.g. OPENAI_API_KEY)' })
      .regex(ENV_NAME_PATTERN, 'the name of an environment variable (e.g. OPENAI_API_KEY), not the key itself')
      .optional(),
    fallback: z
      .array(profileName('a profile name'), { error: 'a list of profile names' })
      .max(MAX_FALLBACKS, `at most ${MAX_FALLBACKS} profile names`)
      .optional(),
    api_key: noKey(),
    apiKey: noKey(),
    key: noKey(),
    token: noKey(),
    secret: noKey(),
    password: noKey(),
  },
  'a profile',
).superRefine(checkProvider, { when: () => true });

const assistantSchema = strict(
  {
    name: agentName,
    instructions: z
      .string({ error: 'the instructions text' })
      .refine((v) => v.trim().length > 0, 'non-empty instructions text')
      .refine((v) => v.length <= MAX_INSTRUCTIONS_CHARS, `instructions of at most ${MAX_INSTRUCTIONS_CHARS} characters`)
      .optional(),
    instructions_file: z
      .string({ error: 'the path of a file holding the instructions' })
      .min(1, 'the path of a file holding the instructions')
      .max(4096)
      .optional(),
    greeting: z.string({ error: 'the greeting text (empty = no greeting)' }).max(MAX_GREETING_CHARS, `at most ${MAX_GREETING_CHARS} characters`).optional(),
    voice: z
      .string({ error: 'a Piper voice name, e.g. en_US-joe-medium' })
      .refine((v) => VOICE_PATTERN.test(v) && !v.includes('..'), 'a Piper voice name, e.g. en_US-joe-medium'),
    llm: profileName('the name of a profile under profiles'),
    stt: profileName('the name of a profile under profiles'),
    max_sessions: z
      .int({ error: `an integer between ${MAX_SESSIONS_RANGE[0]} and ${MAX_SESSIONS_RANGE[1]}` })
      .min(MAX_SESSIONS_RANGE[0], `an integer between ${MAX_SESSIONS_RANGE[0]} and ${MAX_SESSIONS_RANGE[1]}`)
      .max(MAX_SESSIONS_RANGE[1], `an integer between ${MAX_SESSIONS_RANGE[0]} and ${MAX_SESSIONS_RANGE[1]}`)
      .optional(),
  },
  'an assistant',
).superRefine(checkInstructions, { when: () => true });

export const assistantsFileSchema = strict(
  {
    profiles: z.record(profileName('a profile name'), profileSchema, { error: 'a mapping of profile names to profiles' }),
    assistants: z
      .array(assistantSchema, { error: 'a list of assistants' })
      .min(1, 'at least one assistant')
      .max(MAX_ASSISTANTS, `at most ${MAX_ASSISTANTS} assistants`),
  },
  'an assistants file',
).superRefine(checkReferences, { when: () => true });

export type AssistantsFileDocument = z.output<typeof assistantsFileSchema>;
export type ProfileDocument = z.output<typeof profileSchema>;
export type AssistantDocument = z.output<typeof assistantSchema>;

// The checks below also run on parts that failed their own fields (so every problem is listed at
// once), hence they read their input defensively.

type Ctx = z.RefinementCtx;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function checkProvider(value: unknown, ctx: Ctx): void {
  const profile = record(value);
  const provider = profile?.['provider'];
  if (!profile || typeof provider !== 'string') return;
  if (provider === 'local') {
    for (const field of ['model', 'base_url', 'api_key_env'] as const) {
      if (profile[field] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          params: SENTENCE,
          message:
            'not used by a `local` profile, which runs the service’s own models (LOCAL_LLM_MODEL, LOCAL_STT_MODEL): remove it, or use provider openai-compatible',
        });
      }
    }
    return;
  }
  if (profile['model'] === undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: `a model name (provider ${provider} needs one)` });
  if (provider === 'openai-compatible' && profile['base_url'] === undefined) {
    ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'the http(s) URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1' });
  }
}

function checkInstructions(value: unknown, ctx: Ctx): void {
  const assistant = record(value);
  if (!assistant) return;
  const inline = assistant['instructions'] !== undefined;
  const file = assistant['instructions_file'] !== undefined;
  if (inline && file) {
    ctx.addIssue({ code: 'custom', path: ['instructions_file'], params: SENTENCE, message: 'give either instructions or instructions_file, not both' });
  } else if (!inline && !file) {
    ctx.addIssue({ code: 'custom', path: ['instructions'], message: 'the instructions text, or instructions_file naming a file that holds it' });
  }
}

/** Names across the file: profiles an assistant or a fallback list names, duplicate assistants, fallback cycles. */
function checkReferences(value: unknown, ctx: Ctx): void {
  const root = record(value);
  if (!root) return;
  const profiles = record(root['profiles']) ?? {};
  const defined = Object.keys(profiles);
  const known = `the name of a profile under profiles (${defined.length > 0 ? defined.join(', ') : 'none defined'})`;
  const isProfile = (n: string) => Object.hasOwn(profiles, n);

  for (const [profileName, profile] of Object.entries(profiles)) {
    const fallback = record(profile)?.['fallback'];
    if (!Array.isArray(fallback)) continue;
    const seen = new Set<string>();
    fallback.forEach((entry, i) => {
      if (typeof entry !== 'string' || !PROFILE_NAME_PATTERN.test(entry)) return;
      const path = ['profiles', profileName, 'fallback', i];
      if (entry === profileName) ctx.addIssue({ code: 'custom', path, message: `another profile than ${profileName} itself` });
      else if (!isProfile(entry)) ctx.addIssue({ code: 'custom', path, message: known });
      else if (seen.has(entry)) ctx.addIssue({ code: 'custom', path, message: `each profile once (${entry} is already listed)` });
      seen.add(entry);
    });
  }
  for (const cycle of fallbackCycles(profiles)) {
    ctx.addIssue({
      code: 'custom',
      path: ['profiles', cycle.from, 'fallback', cycle.index],
      message: `fallbacks that do not lead back to a profile already tried (${cycle.names.join(' -> ')} is a cycle)`,
    });
  }

  const assistants = Array.isArray(root['assistants']) ? root['assistants'] : [];
  const firstWithName = new Map<string, number>();
  assistants.forEach((item, i) => {
    const assistant = record(item);
    if (!assistant) return;
    const assistantName = assistant['name'];
    if (typeof assistantName === 'string') {
      const first = firstWithName.get(assistantName);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['assistants', i, 'name'], message: `a name no other assistant has (assistants[${first}] has it too)` });
      } else firstWithName.set(assistantName, i);
    }
    for (const use of ['llm', 'stt'] as const) {
      const ref = assistant[use];
      if (typeof ref === 'string' && PROFILE_NAME_PATTERN.test(ref) && !isProfile(ref))
        ctx.addIssue({ code: 'custom', path: ['assistants', i, use], message: known });
    }
  });
}

/** Each cycle of the fallback graph once, as the edge that closes it (self-references are reported apart). */
function fallbackCycles(profiles: Record<string, unknown>): Array<{ from: string; index: number; names: string[] }> {
  const edges = (n: string): string[] => {
    const list = record(profiles[n])?.['fallback'];
    return Array.isArray(list) ? list.map((e) => (typeof e === 'string' && e !== n && Object.hasOwn(profiles, e) ? e : '')) : [];
  };
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: Array<{ from: string; index: number; names: string[] }> = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    edges(n).forEach((next, index) => {
      if (next === '') return;
      if (state.get(next) === 'open') cycles.push({ from: n, index, names: [...stack.slice(stack.indexOf(next)), next] });
      else if (!state.has(next)) visit(next);
    });
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of Object.keys(profiles)) if (!state.has(n)) visit(n);
  return cycles;
}
