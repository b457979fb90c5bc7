/**
 * Wraps non-streaming STTs (a provider and its fallbacks) so a failing provider never ends the session.
 *
 * The framework only logs a failed recognition and carries on, leaving the user in silence; a
 * provider that hangs would hold the turn for ever. Here every attempt gets a deadline, and a
 * failure (down, slow, or an answer that is not a transcript) is reported through `onFailure`.
 * The utterance then goes to the next provider of the chain; a provider that failed rests (30 s),
 * during which utterances go to the others first (a hanging provider would otherwise cost every
 * utterance its deadline). Only when every provider failed is the utterance lost (`lost: true`,
 * for the apology): the result is an empty transcript, so the session simply waits for the next
 * utterance. The next successful call is the recovery.
 */
import { stt, type AudioBuffer } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import OpenAI from 'openai';
import { z } from 'zod';

/** How long a provider that failed is tried after the others. */
export const PROVIDER_REST_MS = 30_000;

export interface SttFailure {
  provider: string;
  model: string;
  cause: string;
  kind: 'timeout' | 'error' | 'garbage';
  /** No provider of the chain transcribed the utterance. */
  lost: boolean;
}

export interface SttLink {
  stt: stt.STT;
  /** Host of the provider, for logs ("127.0.0.1:9000"). */
  provider: string;
}

export interface ResilientSTTOptions {
  /** The providers in order of preference (at least one). */
  chain: SttLink[];
  /** Deadline of each attempt. */
  timeoutMs: number;
  /** How long a provider that failed is tried after the others; default `PROVIDER_REST_MS`. */
  restMs?: number;
  onFailure: (failure: SttFailure) => void;
}

type Attempt = { event: stt.SpeechEvent } | { failure: Omit<SttFailure, 'lost'> };

export class ResilientSTT extends stt.STT {
  label: string;
  readonly #options: ResilientSTTOptions;
  /** Per link: until when it rests after a failure (ms since the epoch). */
  readonly #restingUntil: number[];

  constructor(options: ResilientSTTOptions) {
    super({ streaming: false, interimResults: false });
    if (options.chain.length === 0) throw new Error('ResilientSTT needs at least one speech-to-text provider');
    this.#options = options;
    this.#restingUntil = options.chain.map(() => 0);
    this.label = `resilient<${options.chain.map((link) => link.stt.label).join(',')}>`;
  }

  override get model(): string {
    return this.#preferred().stt.model;
  }

  override get provider(): string {
    return this.#preferred().provider;
  }

  protected async _recognize(buffer: AudioBuffer, abortSignal?: AbortSignal): Promise<stt.SpeechEvent> {
    const order = this.#order();
    for (const [position, index] of order.entries()) {
      const attempt = await this.#attempt(this.#options.chain[index]!, buffer, abortSignal);
      if ('event' in attempt) {
        this.#restingUntil[index] = 0;
        return attempt.event;
      }
      this.#restingUntil[index] = Date.now() + (this.#options.restMs ?? PROVIDER_REST_MS);
      this.#options.onFailure({ ...attempt.failure, lost: position === order.length - 1 });
    }
    return empty();
  }

  stream(): stt.SpeechStream {
    throw new Error('ResilientSTT is not streaming; the framework wraps it in stt.StreamAdapter with the VAD');
  }

  /** Links not resting first, then the resting ones: each in the chain's order. */
  #order(): number[] {
    const now = Date.now();
    const indices = this.#options.chain.map((_, index) => index);
    return [...indices.filter((i) => this.#restingUntil[i]! <= now), ...indices.filter((i) => this.#restingUntil[i]! > now)];
  }

  #preferred(): SttLink {
    return this.#options.chain[this.#order()[0]!]!;
  }

  async #attempt(link: SttLink, buffer: AudioBuffer, abortSignal: AbortSignal | undefined): Promise<Attempt> {
    const { timeoutMs } = this.#options;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = abortSignal ? AbortSignal.any([abortSignal, deadline]) : deadline;
    const failure = (kind: SttFailure['kind'], cause: string): Attempt => ({ failure: { provider: link.provider, model: link.stt.model, kind, cause } });
    try {
      const event = await link.stt.recognize(buffer, signal);
      const text: unknown = event.alternatives?.[0]?.text;
      if (typeof text !== 'string') return failure('garbage', 'the provider answered without a transcript text');
      return { event };
    } catch (err) {
      if (abortSignal?.aborted) throw err;
      if (deadline.aborted) return failure('timeout', `no transcript within ${timeoutMs} ms`);
      return failure(isGarbage(err) ? 'garbage' : 'error', describeError(err));
    }
  }
}

function empty(): stt.SpeechEvent {
  return {
    type: stt.SpeechEventType.FINAL_TRANSCRIPT,
    alternatives: [{ text: '', language: 'en' as never, startTime: 0, endTime: 0, confidence: 0 }],
  };
}

/** A 200 answer from a transcription endpoint that is not a transcript. */
export class TranscriptGarbageError extends Error {
  constructor(detail: string) {
    super(`the speech-to-text server answered with something that is not a transcript (${detail})`);
    this.name = 'TranscriptGarbageError';
  }
}

const transcriptBody = z.object({ text: z.string() });

/**
 * `fetch` for the OpenAI client used by the STT plugin. The plugin reads `response.text || ''`, so a
 * garbage answer would look like silence; this rejects it instead, with the reason.
 */
const transcriptValidatingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!response.ok || !url.includes('/audio/transcriptions')) return response;
  const body = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new TranscriptGarbageError(`not JSON, content-type ${response.headers.get('content-type') ?? 'none'}, ${body.length} bytes`);
  }
  if (!transcriptBody.safeParse(parsed).success) throw new TranscriptGarbageError('JSON without a text field');
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

/** The OpenAI STT plugin as the agent uses it: no retries of its own, and answers checked to be transcripts. */
export function openaiTranscriber(options: { model: string; apiKey: string; baseURL: string | undefined; language: string }): openai.STT {
  return new openai.STT({
    useRealtime: false,
    model: options.model,
    apiKey: options.apiKey,
    language: options.language,
    client: new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, maxRetries: 0, fetch: transcriptValidatingFetch }),
  });
}

function isGarbage(err: unknown): boolean {
  for (let current: unknown = err, depth = 0; current && depth < 5; depth++) {
    if (current instanceof TranscriptGarbageError || current instanceof SyntaxError) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** One line naming the cause, including the network error code hidden in `cause` chains. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current instanceof Error) {
      const code = (current as NodeJS.ErrnoException).code;
      const status = (current as { status?: unknown }).status;
      parts.push(`${current.name}: ${current.message}${code ? ` (${code})` : ''}${typeof status === 'number' ? ` [HTTP ${status}]` : ''}`);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(' <- ').slice(0, 1000);
}
