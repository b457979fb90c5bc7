/**
 * Guards one LLM reply so the user never gets silence from a failing provider.
 *
 * The framework swallows a failed LLM request (it logs and emits an error event, and the reply
 * stream just ends empty), and an OpenAI-compatible server that accepts the request but then
 * stalls is not timed out at all. This wrapper puts a deadline on the first and every next chunk;
 * when the reply fails or ends without any text, it reports the failure and speaks an apology in
 * place of the reply. The session goes on with the next user turn.
 */
import { ReadableStream } from 'node:stream/web';
import type { llm } from '@livekit/agents';
import { speakableStart } from './first-clause.js';

export type LlmChunk = llm.ChatChunk | string;

export interface LlmFailure {
  kind: 'timeout' | 'error' | 'empty';
  cause: string;
}

export interface GuardOptions {
  /** Longest wait for the first chunk and between chunks. */
  timeoutMs: number;
  apology: string;
  /** The provider error the framework reported for this request, if any. */
  takeProviderError: () => string | undefined;
  onFailure: (failure: LlmFailure) => void;
  /**
   * Milliseconds from the request to the first text speech can start on: the first clause or
   * sentence (first-clause.ts), or the whole reply if shorter.
   */
  onFirstSentence?: (ms: number) => void;
}

function textOf(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  const content = (chunk as llm.ChatChunk | null)?.delta?.content;
  return typeof content === 'string' ? content : '';
}

const TIMEOUT = Symbol('timeout');

function hasText(chunk: unknown): boolean {
  if (typeof chunk === 'string') return chunk.trim().length > 0;
  if (typeof chunk !== 'object' || chunk === null) return false;
  const delta = (chunk as llm.ChatChunk).delta;
  return typeof delta?.content === 'string' && delta.content.trim().length > 0;
}

function hasToolCall(chunk: unknown): boolean {
  if (typeof chunk !== 'object' || chunk === null) return false;
  return ((chunk as llm.ChatChunk).delta?.toolCalls?.length ?? 0) > 0;
}

export function guardLlmStream<T>(source: ReadableStream<T>, options: GuardOptions): ReadableStream<T | string> {
  const reader = source.getReader();
  let timer: NodeJS.Timeout | undefined;
  // the framework cancels the reply when the user interrupts: that is not a provider failure
  let cancelled = false;
  const nextOrTimeout = () =>
    Promise.race([
      reader.read(),
      new Promise<typeof TIMEOUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMEOUT), options.timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));

  return new ReadableStream<T | string>({
    async start(controller) {
      const started = performance.now();
      let text = '';
      let sentenceReported = false;
      const reportSentence = () => {
        if (sentenceReported || text.trim().length === 0) return;
        sentenceReported = true;
        options.onFirstSentence?.(performance.now() - started);
      };
      let produced = false;
      let failure: LlmFailure | undefined;
      try {
        for (;;) {
          const next = await nextOrTimeout();
          if (cancelled) break;
          if (next === TIMEOUT) {
            failure = {
              kind: 'timeout',
              cause: `${produced ? 'the reply stalled' : 'no first token'} within ${options.timeoutMs} ms`,
            };
            void reader.cancel('timeout').catch(() => undefined);
            break;
          }
          if (next.done) break;
          if (hasText(next.value) || hasToolCall(next.value)) produced = true;
          if (!sentenceReported) {
            text += textOf(next.value);
            if (speakableStart(text)) reportSentence();
          }
          controller.enqueue(next.value);
        }
        if (!failure) reportSentence();
        if (!failure && !produced) {
          const providerError = options.takeProviderError();
          failure = providerError ? { kind: 'error', cause: providerError } : { kind: 'empty', cause: 'the model answered without any text' };
        }
      } catch (err) {
        if (!cancelled) failure = { kind: 'error', cause: options.takeProviderError() ?? String((err as Error)?.message ?? err) };
      }
      if (cancelled) return;
      if (failure) {
        options.onFailure(failure);
        if (!produced) controller.enqueue(options.apology);
      }
      controller.close();
    },
    cancel(reason) {
      cancelled = true;
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
}
