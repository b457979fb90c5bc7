/**
 * OpenAI-compatible speech-to-text over HTTP for the local Whisper model:
 *   POST /v1/audio/transcriptions  multipart/form-data: file (WAV, 16-bit PCM, any rate, mono or more channels),
 *                                  model, and optionally language, prompt, response_format (json | text | verbose_json),
 *                                  temperature
 *   GET  /v1/models                the one model
 *   GET  /health                   200 while the model is loaded, 503 otherwise
 * Every input is checked: body size, form shape, audio format and length; errors are OpenAI-style JSON
 * `{error: {message, type, param, code}}`. A client that goes away cancels its request.
 *
 * A voice agent sends every segment its VAD detects, and answers an error by apologising aloud: so a clip too
 * short to hold a word (under 0.1 s) and a silent one (silence-gate.ts) get an empty transcript, 200 `{"text": ""}`,
 * without running the model (which would hallucinate "you" in silence).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, hardenHttpServer, listen, requestPath, safeHandler, sendJson } from '../../ops/http-listen.js';
import type { Logger } from '../../ops/logger.js';
import { RequestError } from './request-error.js';
import { DEFAULT_SILENCE_THRESHOLD_DBFS, loudestWindowDbfs } from './silence-gate.js';
import { readTranscriptionForm } from './transcription-form.js';
import { engineFailure, sendError, sendTranscript } from './transcription-responses.js';
import type { TranscribeOptions, Transcription } from './transcription-types.js';
import { wavToWhisperInput } from './wav-to-whisper-input.js';
import { WHISPER_SAMPLE_RATE } from './whisper-worker-protocol.js';

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
  /**
   * Clips whose loudest 20 ms is quieter than this (RMS, dBFS) are silence: answered with an empty transcript
   * without running the model. Default -50 (see silence-gate.ts); -Infinity transcribes everything.
   */
  silenceThresholdDbfs?: number;
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
  /** Clips answered with an empty transcript without running the model (too short or silent). */
  skipped: number;
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
/** Clips shorter than this hold no word (OpenAI refuses them): they get an empty transcript. */
const MIN_AUDIO_SECONDS = 0.1;

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
  const silenceThresholdDbfs = options.silenceThresholdDbfs ?? DEFAULT_SILENCE_THRESHOLD_DBFS;
  const modelName = options.modelName ?? engine.name;
  const stats: TranscriptionServerStats = { requests: 0, inFlight: 0, refused: 0, failed: 0, skipped: 0 };
  let refusing = false;

  /** Seconds a refused client should wait: the engine's estimate of the queue, 1 to 30 s. */
  const retryAfter = () => Math.min(30, Math.max(1, Math.ceil((engine.estimatedWaitMs ?? 1000) / 1000)));

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
    const { fields, audio } = await readTranscriptionForm(req, maxBodyBytes);
    if (fields.language !== undefined && !engine.supportsLanguage(fields.language)) {
      throw new RequestError(
        400,
        `language '${fields.language}' is not supported by the local model ${modelName}`,
        'invalid_request_error',
        'unsupported_language',
        'language',
      );
    }
    const { samples, seconds: sentSeconds } = await wavToWhisperInput(audio, maxAudioSeconds);
    const seconds = samples.length / WHISPER_SAMPLE_RATE;
    const language = fields.language ?? 'en';
    const answer = (result: Pick<Transcription, 'text' | 'segments' | 'language'>) =>
      sendTranscript(res, {
        format: fields.response_format,
        result,
        seconds,
        temperature: fields.temperature,
        languageName: engine.languageName(result.language) ?? result.language,
      });

    const tooShort = sentSeconds < MIN_AUDIO_SECONDS;
    const level = tooShort ? undefined : loudestWindowDbfs(samples);
    if (level === undefined || level < silenceThresholdDbfs) {
      stats.skipped++;
      logger.debug({ audioS: +sentSeconds.toFixed(3), levelDbfs: level, why: tooShort ? 'too short' : 'silent' }, 'empty transcript without running the model');
      return answer({ text: '', segments: [], language });
    }

    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const started = performance.now();
    let result: Transcription;
    try {
      result = await engine.transcribe(samples, {
        language,
        temperature: fields.temperature,
        signal: abort.signal,
        ...(fields.prompt ? { prompt: fields.prompt } : {}),
      });
    } catch (err) {
      throw engineFailure(err, logger);
    }
    if (abort.signal.aborted) return;
    logger.debug({ audioS: +seconds.toFixed(2), transcribeMs: result.durationMs, totalMs: Math.round(performance.now() - started) }, 'transcribed');
    answer(result);
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
