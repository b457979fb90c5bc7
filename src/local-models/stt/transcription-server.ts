/**
 * OpenAI-compatible speech-to-text over HTTP for the local Whisper model:
 *   POST /v1/audio/transcriptions  multipart/form-data: file (WAV, 16-bit PCM, any rate, mono or more channels),
 *                                  model, and optionally language, prompt, response_format (json | text | verbose_json),
 *                                  temperature
 *   GET  /v1/models                the one model
 *   GET  /health                   200 while the model is loaded, 503 otherwise
 * Every input is checked: body size, form shape, audio format and length; errors are OpenAI-style JSON
 * `{error: {message, type, param, code}}`. A client that goes away cancels its request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { z } from 'zod';
import { Resampler } from '../../audio/resampler.js';
import { decodeWav } from '../../audio/wav.js';
import { closeServer, hardenHttpServer, listen, requestPath, safeHandler, sendBody, sendJson } from '../../ops/http-listen.js';
import type { Logger } from '../../ops/logger.js';
import { type TranscribeOptions, type Transcription, TranscriptionError, WHISPER_SAMPLE_RATE } from './whisper-engine.js';

/** What the server needs of a speech recognizer (WhisperEngine is one). */
export interface SpeechToTextEngine {
  readonly name: string;
  /** False while the model is not loaded (starting, restarting, shut down). */
  readonly ready: boolean;
  readonly queued: number;
  readonly busy: boolean;
  readonly memoryBytes: number;
  /** About how long a new request would wait, ms: sets Retry-After when the queue is full. */
  readonly estimatedWaitMs?: number;
  supportsLanguage(language: string): boolean;
  languageName(code: string): string | undefined;
  transcribe(samples: Float32Array, options: TranscribeOptions): Promise<Transcription>;
}

export interface TranscriptionServerOptions {
  host: string;
  /** 0 picks a free port (see `port` of the result). */
  port: number;
  engine: SpeechToTextEngine;
  logger: Logger;
  /** Largest request body, bytes. Default 25 MB, OpenAI's limit. */
  maxBodyBytes?: number;
  /** Longest audio accepted, seconds. Default 120. */
  maxAudioSeconds?: number;
  /** Requests received or transcribed at once (each may hold a body in memory); more get 429. Default 8. */
  maxConcurrentRequests?: number;
  /** Model id on /v1/models and /health. Default: the engine's name. */
  modelName?: string;
  /** Names the settings of host and port in a listen error. */
  variables?: string;
}

export interface TranscriptionServerStats {
  requests: number;
  inFlight: number;
  refused: number;
  failed: number;
}

export interface TranscriptionServer {
  readonly port: number;
  readonly stats: TranscriptionServerStats;
  /** Stops accepting requests, lets those in progress finish until `deadline` (epoch ms, default in 10 s), then cuts the rest. */
  stop(deadline?: number): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 25 * 1000 * 1000;
export const DEFAULT_MAX_AUDIO_SECONDS = 120;
const DEFAULT_MAX_CONCURRENT = 8;
/** OpenAI refuses clips shorter than this. */
const MIN_AUDIO_SECONDS = 0.1;
const MIN_SAMPLE_RATE = 4000;
const MAX_SAMPLE_RATE = 192_000;
const MAX_CHANNELS = 32;
/** Resampling runs in slices of this many input frames, yielding in between so /health stays responsive. */
const RESAMPLE_SLICE_FRAMES = 48_000;

type ErrorType = 'invalid_request_error' | 'rate_limit_error' | 'server_error';

/** A request the server answers with an error status. */
class RequestError extends Error {
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

interface ParsedForm {
  fields: Record<string, string>;
  file: { bytes: Buffer; filename: string } | undefined;
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
    const tooLarge = () => new RequestError(413, `the request body is over ${maxBodyBytes} bytes`, 'invalid_request_error', 'request_too_large');
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBodyBytes) finish(tooLarge());
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
      stream.on('limit', () => finish(tooLarge()));
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

/** 16 kHz mono float samples of a 16-bit PCM WAV file of any rate and channel count. */
async function wavToWhisperInput(bytes: Buffer, maxAudioSeconds: number): Promise<Float32Array> {
  let audio: ReturnType<typeof decodeWav>;
  try {
    audio = decodeWav(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new RequestError(
      400,
      `the file is not a WAV file this server reads (16-bit PCM): ${(err as Error).message}`,
      'invalid_request_error',
      'invalid_audio',
      'file',
    );
  }
  const { sampleRate, channels, pcm } = audio;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new RequestError(400, `the WAV file has ${channels} channels (1 to ${MAX_CHANNELS} are supported)`, 'invalid_request_error', 'invalid_audio', 'file');
  }
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    throw new RequestError(
      400,
      `the WAV file's sample rate ${sampleRate} Hz is not supported (${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz)`,
      'invalid_request_error',
      'invalid_audio',
      'file',
    );
  }
  const frames = Math.floor(pcm.length / channels);
  const seconds = frames / sampleRate;
  if (seconds > maxAudioSeconds) {
    throw new RequestError(
      400,
      `the audio is ${seconds.toFixed(1)} s long; at most ${maxAudioSeconds} s are accepted`,
      'invalid_request_error',
      'audio_too_long',
      'file',
    );
  }
  if (seconds < MIN_AUDIO_SECONDS) {
    throw new RequestError(
      400,
      `the audio is too short (${seconds.toFixed(3)} s); at least ${MIN_AUDIO_SECONDS} s are needed`,
      'invalid_request_error',
      'audio_too_short',
      'file',
    );
  }
  let mono: Int16Array = pcm.subarray(0, frames * channels);
  if (channels > 1) {
    mono = new Int16Array(frames);
    for (let f = 0, at = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pcm[at++]!;
      mono[f] = Math.round(sum / channels);
    }
  }
  let resampled: Int16Array;
  if (sampleRate === WHISPER_SAMPLE_RATE) resampled = mono;
  else {
    let resampler: Resampler;
    try {
      resampler = new Resampler(sampleRate, WHISPER_SAMPLE_RATE);
    } catch {
      throw new RequestError(400, `the WAV file's sample rate ${sampleRate} Hz is not supported`, 'invalid_request_error', 'invalid_audio', 'file');
    }
    resampled = new Int16Array(Math.ceil((frames * WHISPER_SAMPLE_RATE) / sampleRate));
    let written = 0;
    const put = (part: Int16Array) => {
      resampled.set(part, written);
      written += part.length;
    };
    for (let at = 0; at < frames; at += RESAMPLE_SLICE_FRAMES) {
      put(resampler.push(mono.subarray(at, Math.min(frames, at + RESAMPLE_SLICE_FRAMES))));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    put(resampler.flush());
    resampled = resampled.subarray(0, written);
  }
  const samples = new Float32Array(resampled.length);
  for (let i = 0; i < resampled.length; i++) samples[i] = resampled[i]! / 32768;
  return samples;
}

/** The handler alone (for embedding in another server); startTranscriptionServer serves it. */
export function createTranscriptionHandler(options: TranscriptionServerOptions): {
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  stats: TranscriptionServerStats;
  /** Answer 503 to new requests from now on (while stopping). */
  refuseNew: () => void;
} {
  const { engine, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxAudioSeconds = options.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS;
  const maxConcurrent = options.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT;
  const modelName = options.modelName ?? engine.name;
  const stats: TranscriptionServerStats = { requests: 0, inFlight: 0, refused: 0, failed: 0 };
  let refusing = false;

  /** Seconds a refused client should wait: the engine's estimate of the queue, 1 to 30 s. */
  const retryAfter = () => Math.min(30, Math.max(1, Math.ceil((engine.estimatedWaitMs ?? 1000) / 1000)));
  const sendError = (res: ServerResponse, err: RequestError, headers: Record<string, string | number> = {}) => {
    const body = JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
    sendBody(res, err.status, body, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  };

  async function transcriptions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    if (refusing) return sendError(res, new RequestError(503, 'the speech-to-text server is shutting down', 'server_error', 'shutting_down'));
    if (stats.inFlight >= maxConcurrent) {
      stats.refused++;
      return sendError(
        res,
        new RequestError(429, `the local speech recognizer is busy (${stats.inFlight} requests in progress); retry shortly`, 'rate_limit_error', 'busy'),
        { 'Retry-After': retryAfter() },
      );
    }
    stats.inFlight++;
    try {
      await transcribe(req, res);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      if (err.status >= 500) stats.failed++;
      if (err.status === 429) stats.refused++;
      // the rest of an oversized or broken body is not read; the connection closes after the answer
      if (!req.readableEnded) {
        req.unpipe();
        req.resume();
        res.once('finish', () => setTimeout(() => req.destroy(), 1000).unref());
      }
      sendError(res, err, err.status === 429 || err.status === 503 ? { 'Retry-After': retryAfter() } : {});
    } finally {
      stats.inFlight--;
    }
  }

  async function transcribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) throw new RequestError(413, `the request body is over ${maxBodyBytes} bytes`, 'invalid_request_error', 'request_too_large');
    const form = await readForm(req, maxBodyBytes);
    const parsed = formFields.safeParse(form.fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RequestError(400, issue.message, 'invalid_request_error', null, issue.path.join('.') || null);
    }
    const fields = parsed.data;
    if (!form.file) throw new RequestError(400, 'no audio: send it as the form field "file"', 'invalid_request_error', null, 'file');
    if (fields.language !== undefined && !engine.supportsLanguage(fields.language)) {
      throw new RequestError(
        400,
        `language '${fields.language}' is not supported by the local model ${modelName}`,
        'invalid_request_error',
        'unsupported_language',
        'language',
      );
    }
    const samples = await wavToWhisperInput(form.file.bytes, maxAudioSeconds);

    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const started = performance.now();
    let result: Transcription;
    try {
      result = await engine.transcribe(samples, {
        language: fields.language ?? 'en',
        temperature: fields.temperature,
        signal: abort.signal,
        ...(fields.prompt ? { prompt: fields.prompt } : {}),
      });
    } catch (err) {
      throw engineFailure(err);
    }
    if (abort.signal.aborted) return;
    const seconds = samples.length / WHISPER_SAMPLE_RATE;
    logger.debug({ audioS: +seconds.toFixed(2), transcribeMs: result.durationMs, totalMs: Math.round(performance.now() - started) }, 'transcribed');
    const usage = { type: 'duration', seconds: Math.ceil(seconds) };
    if (fields.response_format === 'text') return sendBody(res, 200, `${result.text}\n`, { 'Content-Type': 'text/plain; charset=utf-8' });
    if (fields.response_format === 'json') return sendJson(res, 200, { text: result.text, usage });
    const segments = result.segments.length > 0 ? result.segments : [{ text: result.text, startMs: 0, endMs: Math.round(seconds * 1000) }];
    return sendJson(res, 200, {
      task: 'transcribe',
      language: engine.languageName(result.language) ?? result.language,
      duration: +seconds.toFixed(3),
      text: result.text,
      segments: segments.map((s, id) => ({
        id,
        seek: 0,
        start: s.startMs / 1000,
        end: Math.min(s.endMs / 1000, +seconds.toFixed(3)),
        text: ` ${s.text}`,
        tokens: [],
        temperature: fields.temperature,
        avg_logprob: 0,
        compression_ratio: 0,
        no_speech_prob: 0,
      })),
      usage,
    });
  }

  function engineFailure(err: unknown): RequestError | unknown {
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

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url);
    if (path === undefined) return sendError(res, new RequestError(400, 'malformed request target'));
    if (path === '/v1/audio/transcriptions') {
      if (req.method !== 'POST') return sendError(res, new RequestError(405, 'use POST'), { Allow: 'POST' });
      return transcriptions(req, res);
    }
    if (path === '/v1/models' && req.method === 'GET') {
      return sendJson(res, 200, { object: 'list', data: [{ id: modelName, object: 'model', created: 0, owned_by: 'voice-orchestrator' }] });
    }
    if (path === '/health' && req.method === 'GET') {
      const ready = engine.ready && !refusing;
      return sendJson(res, ready ? 200 : 503, {
        status: ready ? 'ok' : refusing ? 'stopping' : 'loading',
        model: modelName,
        memory_bytes: engine.memoryBytes,
        queued: engine.queued,
        busy: engine.busy,
        ...stats,
      });
    }
    return sendError(res, new RequestError(404, `no route ${String(req.method).slice(0, 16)} ${path.slice(0, 200)}`, 'invalid_request_error', 'not_found'));
  }

  return {
    handle,
    stats,
    refuseNew: () => {
      refusing = true;
    },
  };
}

/** Serves the OpenAI-compatible transcription API on host:port, hardened like every port of the service. */
export async function startTranscriptionServer(options: TranscriptionServerOptions): Promise<TranscriptionServer> {
  const { handle, stats, refuseNew } = createTranscriptionHandler(options);
  const name = 'local STT';
  const server: Server = createServer(safeHandler(handle, { logger: options.logger, name }));
  hardenHttpServer(server, { logger: options.logger, name });
  await listen(server, {
    host: options.host,
    port: options.port,
    logger: options.logger,
    name,
    ...(options.variables ? { variables: options.variables } : {}),
  });
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    stop: (deadline = Date.now() + 10_000) => {
      refuseNew();
      return closeServer(server, deadline);
    },
  };
}
