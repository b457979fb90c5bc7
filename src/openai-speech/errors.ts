import type { ServerResponse } from 'node:http';
import { sendJson } from '../ops/http-listen.js';

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'invalid_request_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'server_error',
  503: 'server_error',
};

/** Answers in OpenAI's error shape `{"error":{"message","type","param","code"}}` (4xx and 5xx close the connection). */
export function sendOpenAiError(
  res: ServerResponse,
  status: number,
  message: string,
  options: { code: string; param?: string | null; headers?: Record<string, string | number> },
): void {
  const body: OpenAiErrorBody = { error: { message, type: TYPES[status] ?? 'server_error', param: options.param ?? null, code: options.code } };
  sendJson(res, status, body, options.headers);
}
