import type { Config } from '../config/schema.js';
import { localOrigin } from '../local-models/settings.js';
import type { Logger } from '../ops/logger.js';
import type { AssistantSpec } from './assistant-spec.js';

/** A warm-up that has not answered by then is abandoned (the server carries on serving rooms). */
const WARMUP_TIMEOUT_MS = 60_000;

type WarmupConfig = Pick<Config, 'LOCAL_MODELS_HOST' | 'LOCAL_LLM_PORT' | 'LOCAL_LLM_PARALLEL'>;

/**
 * Has the local LLM evaluate how each of its assistants' conversations opens (instructions, then
 * greeting) before any room does. The server keeps what each of its sequences evaluated and a
 * request re-evaluates only what differs, so the first question of a room then costs its own
 * tokens only: on 2 cores, the default opening is about 0.5 s of prompt evaluation. One request
 * per sequence (LOCAL_LLM_PARALLEL), sent together so each lands on its own sequence; assistants
 * take the sequences in turn (beyond LOCAL_LLM_PARALLEL assistants, the others start cold).
 * Failures are logged: a cold cache is slower, not wrong.
 */
export async function warmLocalPrompts(specs: AssistantSpec[], config: WarmupConfig, logger: Logger): Promise<void> {
  const baseURL = `${localOrigin(config.LOCAL_MODELS_HOST, config.LOCAL_LLM_PORT)}/v1`;
  const local = specs.filter((s) => s.llm[0]?.baseURL === baseURL);
  if (local.length === 0) return;
  const started = performance.now();
  const openings = Array.from({ length: config.LOCAL_LLM_PARALLEL }, (_, i) => local[i % local.length]!);
  const results = await Promise.allSettled(openings.map((spec) => warm(baseURL, spec)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) logger.warn({ err: (failed.reason as Error).message }, 'local LLM warm-up failed: the first answer of each room will be slower');
  else logger.info({ assistants: local.length, ms: Math.round(performance.now() - started) }, 'local LLM warmed with the assistants’ openings');
}

async function warm(baseURL: string, spec: AssistantSpec): Promise<void> {
  const messages = [{ role: 'system', content: spec.instructions }];
  if (spec.greeting.trim().length > 0) messages.push({ role: 'assistant', content: spec.greeting });
  // the server answers only a user turn; a room's first question replaces this one
  messages.push({ role: 'user', content: 'Hello.' });
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: spec.llm[0]!.model, messages, max_tokens: 1, temperature: 0 }),
    signal: AbortSignal.timeout(WARMUP_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`HTTP ${response.status} from the local LLM`);
}
