/** An HTTP request the transcription server answers with an error status, in OpenAI's error shape. */

export type ErrorType = 'invalid_request_error' | 'rate_limit_error' | 'server_error';

/** A request the server answers with an error status: `{error: {message, type, param, code}}`. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** A 400 about the uploaded audio (param `file`). */
export function audioError(message: string, code = 'invalid_audio'): RequestError {
  return new RequestError(400, message, 'invalid_request_error', code, 'file');
}
