import { z } from 'zod';

/** The parts of an OpenAI chat-completions request the local model server uses; unknown fields are ignored. */
const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  })
  .loose();

export const chatCompletionRequest = z
  .object({
    model: z.string().min(1),
    messages: z.array(message).min(1),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    seed: z.number().int().nullish(),
  })
  .loose();

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

/** Flattens OpenAI messages into plain text turns (developer -> system; tool results are dropped). */
export function toTurns(request: ChatCompletionRequest): ChatTurn[] {
  const turns: ChatTurn[] = [];
  for (const m of request.messages) {
    const text =
      typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p) => (p.type === 'text' && p.text ? p.text : '')).join('') : '';
    if (m.role === 'system' || m.role === 'developer') turns.push({ role: 'system', text });
    else if (m.role === 'user') turns.push({ role: 'user', text });
    else if (m.role === 'assistant' && text.length > 0) turns.push({ role: 'assistant', text });
  }
  return turns;
}

export function openAiError(message: string, type: string, code: string | null = null): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** As OpenAI reports it: prompt tokens served from what was evaluated before. */
  prompt_tokens_details?: { cached_tokens: number };
}

export function usage(result: { promptTokens: number; completionTokens: number; cachedTokens?: number }): Usage {
  const { promptTokens, completionTokens, cachedTokens } = result;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    ...(cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: cachedTokens } } : {}),
  };
}

export type FinishReason = 'stop' | 'length';

interface Envelope {
  id: string;
  created: number;
  model: string;
}

export function completionBody(e: Envelope, text: string, finishReason: FinishReason, u: Usage): string {
  return JSON.stringify({
    id: e.id,
    object: 'chat.completion',
    created: e.created,
    model: e.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
    usage: u,
  });
}

/** One server-sent event carrying a chat.completion.chunk. */
export function chunkEvent(e: Envelope, delta: { role?: 'assistant'; content?: string }, finishReason: FinishReason | null): string {
  return sse({
    id: e.id,
    object: 'chat.completion.chunk',
    created: e.created,
    model: e.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
}

/** The trailing usage chunk sent when `stream_options.include_usage` is true. */
export function usageEvent(e: Envelope, u: Usage): string {
  return sse({ id: e.id, object: 'chat.completion.chunk', created: e.created, model: e.model, choices: [], usage: u });
}

export const DONE_EVENT = 'data: [DONE]\n\n';

function sse(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}
