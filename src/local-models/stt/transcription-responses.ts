/**
 * What the transcription server sends back: a transcript as OpenAI's json, text or verbose_json, and errors in
 * OpenAI's shape `{error: {message, type, param, code}}`, including the status each engine failure maps to.
 */
import type { ServerResponse } from 'node:http';
import { sendBody, sendJson } from '../../ops/http-listen.js';
import type { Logger } from '../../ops/logger.js';
import { RequestError } from './request-error.js';
import type { ResponseFormat } from './transcription-form.js';
import { type Transcription, TranscriptionError } from './transcription-types.js';

export function sendError(res: ServerResponse, err: RequestError, headers: Record<string, string | number> = {}): void {
  const body = JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
  sendBody(res, err.status, body, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
}

export interface TranscriptAnswer {
  format: ResponseFormat;
  result: Pick<Transcription, 'text' | 'segments' | 'language'>;
  /** Length of the audio transcribed, seconds. */
  seconds: number;
  /** The temperature asked for (reported per segment in verbose_json). */
  temperature: number;
  /** Whisper's name of the language ('english' for 'en'), as verbose_json reports it. */
  languageName: string;
}

/** Answers 200 with the transcript in the format asked for. */
export function sendTranscript(res: ServerResponse, answer: TranscriptAnswer): void {
  const { result, seconds } = answer;
  const usage = { type: 'duration', seconds: Math.ceil(seconds) };
  if (answer.format === 'text') {
    sendBody(res, 200, `${result.text}\n`, { 'Content-Type': 'text/plain; charset=utf-8' });
    return;
  }
  if (answer.format === 'json') {
    sendJson(res, 200, { text: result.text, usage });
    return;
  }
  const duration = +seconds.toFixed(3);
  const segments = result.segments.length > 0 || result.text === '' ? result.segments : [{ text: result.text, startMs: 0, endMs: Math.round(seconds * 1000) }];
  sendJson(res, 200, {
    task: 'transcribe',
    language: answer.languageName,
    duration,
    text: result.text,
    segments: segments.map((s, id) => ({
      id,
      seek: 0,
      start: s.startMs / 1000,
      end: Math.min(s.endMs / 1000, duration),
      text: ` ${s.text}`,
      tokens: [],
      temperature: answer.temperature,
      avg_logprob: 0,
      compression_ratio: 0,
      no_speech_prob: 0,
    })),
    usage,
  });
}

/** The answer to an engine's TranscriptionError (other errors are returned as they are: the handler's 500). */
export function engineFailure(err: unknown, logger: Logger): RequestError | unknown {
  if (!(err instanceof TranscriptionError)) return err;
  switch (err.code) {
    case 'queue_full':
      return new RequestError(429, err.message, 'rate_limit_error', 'busy');
    case 'unsupported_language':
      return new RequestError(400, err.message, 'invalid_request_error', 'unsupported_language', 'language');
    case 'invalid_audio':
      return new RequestError(400, err.message, 'invalid_request_error', 'invalid_audio');
    case 'worker_failed':
    case 'disposed':
    case 'aborted':
      return new RequestError(503, err.message, 'server_error', err.code);
    default:
      logger.error({ err }, 'transcription failed');
      return new RequestError(500, err.message, 'server_error', 'transcription_failed');
  }
}
