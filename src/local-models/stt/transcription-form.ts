/**
 * The multipart/form-data body of POST /v1/audio/transcriptions: read within size limits (busboy), then its fields
 * checked as OpenAI's API defines them (model, language, prompt, response_format, temperature, stream) and the
 * audio required as the form field `file`. Every problem is a RequestError (400, or 413 for a body too large).
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { z } from 'zod';
import { RequestError } from './request-error.js';

const formFields = z.object({
  model: z.string({ error: 'model is required' }).trim().min(1, 'model is required').max(256),
  language: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2,3}$/, 'language must be an ISO-639-1 code such as "en"')
    .optional(),
  prompt: z.string().max(4000, 'prompt is longer than 4000 characters').optional(),
  response_format: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '' || v === 'json') return 'json' as const;
      if (v === 'text' || v === 'verbose_json') return v;
      ctx.addIssue({
        code: 'custom',
        message:
          v === 'srt' || v === 'vtt'
            ? `response_format ${v} is not supported by the local model (use json, text or verbose_json)`
            : `unknown response_format '${v}'`,
      });
      return z.NEVER;
    }),
  temperature: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return 0;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 1) {
        ctx.addIssue({ code: 'custom', message: 'temperature must be a number between 0 and 1' });
        return z.NEVER;
      }
      return n;
    }),
  stream: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === 'false', 'stream is not supported by the local model'),
});

/** The checked fields of a transcription request. */
export type TranscriptionFields = z.output<typeof formFields>;
export type ResponseFormat = TranscriptionFields['response_format'];

export interface TranscriptionForm {
  fields: TranscriptionFields;
  /** The bytes of the form field `file`. */
  audio: Buffer;
}

interface ParsedForm {
  fields: Record<string, string>;
  file: { bytes: Buffer; filename: string } | undefined;
}

const tooLarge = (maxBodyBytes: number) =>
  new RequestError(413, `the request body is over ${maxBodyBytes} bytes`, 'invalid_request_error', 'request_too_large');

/** Reads and checks a transcription request's form: its fields and one audio file, the body at most `maxBodyBytes`. */
export async function readTranscriptionForm(req: IncomingMessage, maxBodyBytes: number): Promise<TranscriptionForm> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
  const form = await readForm(req, maxBodyBytes);
  const parsed = formFields.safeParse(form.fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RequestError(400, issue.message, 'invalid_request_error', null, issue.path.join('.') || null);
  }
  if (!form.file) throw new RequestError(400, 'no audio: send it as the form field "file"', 'invalid_request_error', null, 'file');
  return { fields: parsed.data, audio: form.file.bytes };
}

/** Reads a multipart/form-data body: at most one file (field `file`) of the allowed size, a few short fields. */
function readForm(req: IncomingMessage, maxBodyBytes: number): Promise<ParsedForm> {
  return new Promise<ParsedForm>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBodyBytes, files: 1, fields: 32, parts: 40, fieldSize: 64 * 1024, fieldNameSize: 100, headerPairs: 20 },
      });
    } catch {
      reject(new RequestError(400, 'the request must be multipart/form-data with a boundary (send the audio as the form field "file")'));
      return;
    }
    const fields: Record<string, string> = {};
    let file: ParsedForm['file'];
    let received = 0;
    let done = false;
    let fileOpen = false;
    let parserClosed = false;
    const finish = (err: RequestError | undefined) => {
      if (done) return;
      done = true;
      req.off('data', count);
      if (err) {
        req.unpipe(parser);
        parser.destroy();
        reject(err);
      } else resolve({ fields, file });
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBodyBytes) finish(tooLarge(maxBodyBytes));
    };
    req.on('data', count);
    req.on('error', () => finish(new RequestError(400, 'the request body was not received completely')));
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) return finish(new RequestError(400, `form field ${name.slice(0, 40)} is too long`));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // a cut-off body or destroying the parser fails the open file stream; the parser's 'error' answers that
      stream.on('error', () => {});
      if (name !== 'file') {
        stream.resume();
        return finish(
          new RequestError(400, `unexpected file field '${name.slice(0, 40)}' (send the audio as the form field "file")`, 'invalid_request_error', null, name),
        );
      }
      const chunks: Buffer[] = [];
      fileOpen = true;
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => finish(tooLarge(maxBodyBytes)));
      stream.on('end', () => {
        file = { bytes: Buffer.concat(chunks), filename: info.filename ?? 'audio' };
        fileOpen = false;
        if (parserClosed) finish(undefined);
      });
    });
    parser.on('filesLimit', () => finish(new RequestError(400, 'send exactly one file, in the form field "file"')));
    parser.on('fieldsLimit', () => finish(new RequestError(400, 'too many form fields')));
    parser.on('partsLimit', () => finish(new RequestError(400, 'too many form parts')));
    parser.on('error', (err: Error) => finish(new RequestError(400, `malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      parserClosed = true;
      if (!fileOpen) finish(undefined);
    });
    req.pipe(parser);
  });
}
