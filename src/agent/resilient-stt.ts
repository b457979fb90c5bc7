/**
 * Wraps a non-streaming STT so a failing provider never ends the session.
 *
 * The framework only logs a failed recognition and carries on, leaving the user in silence; a
 * provider that hangs would hold the turn for ever. Here every recognition gets a deadline, and a
 * failure (down, slow, or an answer that is not a transcript) is reported through `onFailure`
 * (which logs it and apologises to the user) and turned into an empty transcript, so the session
 * simply waits for the next utterance. The next successful call is the recovery.
 */
import { stt, type AudioBuffer } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import OpenAI from 'openai';
import { z } from 'zod';

export interface SttFailure {
  provider: string;
  cause: string;
  kind: 'timeout' | 'error' | 'garbage';
}

export interface ResilientSTTOptions {
  inner: stt.STT;
  /** Host of the provider, for logs ("127.0.0.1:9000"). */
  provider: string;
  timeoutMs: number;
  onFailure: (failure: SttFailure) => void;
}

export class ResilientSTT extends stt.STT {
  label: string;
  readonly #inner: stt.STT;
  readonly #options: ResilientSTTOptions;

  constructor(options: ResilientSTTOptions) {
    super({ streaming: false, interimResults: false });
    this.#inner = options.inner;
    this.#options = options;
    this.label = `resilient<${options.inner.label}>`;
  }

  override get model(): string {
    return this.#inner.model;
  }

  override get provider(): string {
    return this.#options.provider;
  }

  protected async _recognize(buffer: AudioBuffer, abortSignal?: AbortSignal): Promise<stt.SpeechEvent> {
    const deadline = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = abortSignal ? AbortSignal.any([abortSignal, deadline]) : deadline;
    try {
      const event = await this.#inner.recognize(buffer, signal);
      const text: unknown = event.alternatives?.[0]?.text;
      if (typeof text !== 'string') {
        this.#fail('garbage', 'the provider answered without a transcript text');
        return empty();
      }
      return event;
    } catch (err) {
      if (abortSignal?.aborted) throw err;
      if (deadline.aborted) {
        this.#fail('timeout', `no transcript within ${this.#options.timeoutMs} ms`);
      } else {
        this.#fail(isGarbage(err) ? 'garbage' : 'error', describeError(err));
      }
      return empty();
    }
  }

  stream(): stt.SpeechStream {
    throw new Error('ResilientSTT is not streaming; the framework wraps it in stt.StreamAdapter with the VAD');
  }

  #fail(kind: SttFailure['kind'], cause: string): void {
    this.#options.onFailure({ provider: this.#options.provider, cause, kind });
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
