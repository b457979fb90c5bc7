import type { IncomingMessage, ServerResponse } from 'node:http';
import { Resampler } from '../audio/index.js';
import { BodyTooLargeError, readBody, requestPath, sendJson } from '../ops/http-listen.js';
import type { Logger } from '../ops/logger.js';
import { RateLimiter } from '../ops/rate-limit.js';
import type { TokenCheck } from '../speech/auth.js';
import { type DeliveryLimits, writeWithBackpressure } from '../speech/delivery.js';
import type { SpeechService } from '../speech/service.js';
import { sendOpenAiError } from './errors.js';
import { createEncoder, OUTPUT_RATE } from './formats.js';
import { parseSpeechRequest, RequestError, type SpeechParams } from './request.js';

export interface OpenAiSpeechOptions {
  speech: SpeechService;
  auth: TokenCheck;
  allowedOrigins: readonly string[];
  /** Largest request body (LEGACY_MAX_MESSAGE_BYTES). */
  maxBodyBytes: number;
  /** Speech requests in flight at once; more get 503 (OPENAI_MAX_CONCURRENT_REQUESTS). */
  maxConcurrent: number;
  /** Requests per minute from one client address; more get 429 (OPENAI_RATE_LIMIT_PER_MIN). */
  ratePerMinute: number;
  voiceMap: Readonly<Record<string, string>>;
  delivery: DeliveryLimits;
  logger: Logger;
}

/** The model ids `GET /v1/models` lists; any model name is accepted by `/v1/audio/speech`. */
const MODELS = ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts', 'piper'];

/**
 * OpenAI's speech API on the legacy server's port: `POST /v1/audio/speech` (streamed as sentences
 * are synthesized, chunked transfer), `GET /v1/models`, `GET /v1/audio/voices`. Errors use
 * OpenAI's error shape. Shares the engine, scheduler and voices of the speech service.
 */
export class OpenAiSpeechApi {
  private readonly rate: RateLimiter;
  private readonly inFlight = new Set<AbortController>();
  private closing = false;

  constructor(private readonly options: OpenAiSpeechOptions) {
    this.rate = new RateLimiter(options.ratePerMinute);
  }

  /** Whether this request is for the OpenAI API (its path starts with /v1/). */
  static handles(req: IncomingMessage): boolean {
    return requestPath(req.url)?.startsWith('/v1/') ?? false;
  }

  get activeRequests(): number {
    return this.inFlight.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = requestPath(req.url) ?? '';
    const refusal = this.refusal(req);
    if (refusal) return this.fail(res, refusal.status, refusal.message, refusal.code, null, refusal.headers);
    const route = ROUTES[path];
    if (!route) return this.fail(res, 404, `unknown endpoint ${req.method} ${path.slice(0, 100)}`, 'unknown_url');
    if (req.method !== route.method) {
      return this.fail(res, 405, `${path} accepts ${route.method} only`, 'method_not_allowed', null, { Allow: route.method });
    }
    if (route.name === 'models') {
      sendJson(res, 200, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 0, owned_by: 'voice-orchestrator' })) });
      return;
    }
    if (route.name === 'voices') {
      const voices = await this.options.speech.voices.list();
      sendJson(res, 200, {
        object: 'list',
        default: this.options.speech.defaultVoice,
        voices: voices.map((v) => v.name),
        data: voices.map((v) => ({ id: v.name, object: 'voice', name: v.name, language: v.language, sample_rate: v.sampleRate, speakers: v.speakers })),
        aliases: this.options.voiceMap,
      });
      return;
    }
    await this.speechRequest(req, res);
  }

  /** Stops taking requests; requests in flight may finish until `deadline`, then they are cancelled. */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const controller of this.inFlight) controller.abort(new Error('server shutting down'));
  }

  private refusal(req: IncomingMessage): { status: number; message: string; code: string; headers?: Record<string, string | number> } | undefined {
    if (this.closing) return { status: 503, message: 'the server is shutting down', code: 'shutting_down', headers: { 'Retry-After': 1 } };
    // before authentication, so guessing tokens is rate limited too
    const wait = this.rate.take(req.socket.remoteAddress ?? 'unknown');
    if (wait > 0) {
      return {
        status: 429,
        message: `more than ${this.options.ratePerMinute} requests per minute from this address; retry in ${wait} s`,
        code: 'rate_limit_exceeded',
        headers: { 'Retry-After': wait },
      };
    }
    if (!this.options.auth.allows(req)) {
      return {
        status: 401,
        message: 'a valid API key is required: Authorization: Bearer TOKEN',
        code: 'invalid_api_key',
        headers: { 'WWW-Authenticate': 'Bearer' },
      };
    }
    const origin = req.headers.origin;
    const { allowedOrigins } = this.options;
    if (origin !== undefined && allowedOrigins.length > 0 && !allowedOrigins.includes(origin)) {
      return { status: 403, message: 'this Origin is not allowed', code: 'origin_not_allowed' };
    }
    return undefined;
  }

  private async speechRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { options } = this;
    if (this.inFlight.size >= options.maxConcurrent) {
      return this.fail(res, 503, `the server is at its limit of ${options.maxConcurrent} speech requests at once; try again shortly`, 'server_busy', null, {
        'Retry-After': 1,
      });
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    try {
      const params = await this.readRequest(req, res);
      if (!params) return;
      await this.stream(params, res, controller);
    } finally {
      this.inFlight.delete(controller);
    }
  }

  private async readRequest(req: IncomingMessage, res: ServerResponse): Promise<SpeechParams | undefined> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, this.options.maxBodyBytes)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        this.fail(res, 413, `request body exceeds ${this.options.maxBodyBytes} bytes`, 'request_too_large');
      } else if (err instanceof SyntaxError) {
        this.fail(res, 400, 'the request body is not valid JSON', 'invalid_json');
      } else throw err;
      return undefined;
    }
    try {
      const { speech, voiceMap } = this.options;
      return await parseSpeechRequest(body, { maxInputChars: speech.maxTextChars, voiceMap, catalog: speech.voices });
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      this.fail(res, 400, err.message, err.code, err.param);
      return undefined;
    }
  }

  /** Synthesizes and sends: headers and the first bytes leave with the first sentence. */
  private async stream(params: SpeechParams, res: ServerResponse, controller: AbortController): Promise<void> {
    const { speech, logger, delivery } = this.options;
    const { signal } = controller;
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new Error('client disconnected'));
    };
    res.on('close', onClose);
    let inputRate: number;
    try {
      inputRate = await speech.sampleRate(params.voice);
    } catch (err) {
      logger.warn({ err, voice: params.voice }, 'voice could not be loaded');
      return this.fail(res, 503, `voice ${params.voice} could not be loaded`, 'voice_unavailable');
    }
    const resampler = new Resampler(inputRate, OUTPUT_RATE);
    const body = new ResponseBody(res, params, delivery, signal);
    const gone = () => {
      // the client went away or read too slowly: cancel (the synthesis counts as cancelled) and drop the connection
      if (body.slow) speech.metrics.error('openai', 'slow_consumer');
      controller.abort(new Error(body.slow ? 'slow consumer' : 'client gone'));
      res.destroy();
    };
    try {
      for await (const chunk of speech.synthesize({ text: params.input, voice: params.voice, speed: params.speed, protocol: 'openai', signal })) {
        if (!(await body.send(resampler.push(chunk.pcm)))) return gone();
      }
      if (signal.aborted || !(await body.send(resampler.flush())) || !(await body.finish())) return gone();
      body.end();
    } catch (err) {
      if (signal.aborted) return gone();
      logger.warn({ err }, 'speech synthesis failed');
      if (!res.headersSent) return this.fail(res, 500, 'speech synthesis failed for this input', 'synthesis_failed');
      res.destroy();
    } finally {
      res.off('close', onClose);
    }
  }

  private fail(
    res: ServerResponse,
    status: number,
    message: string,
    code: string,
    param: string | null = null,
    headers?: Record<string, string | number>,
  ): void {
    this.options.speech.metrics.error('openai', String(status));
    sendOpenAiError(res, status, message, { code, param, ...(headers ? { headers } : {}) });
  }
}

const ROUTES: Record<string, { name: 'speech' | 'models' | 'voices'; method: string }> = {
  '/v1/audio/speech': { name: 'speech', method: 'POST' },
  '/v1/models': { name: 'models', method: 'GET' },
  '/v1/audio/voices': { name: 'voices', method: 'GET' },
};

/** The response body of one speech request: raw audio in the asked format, or OpenAI's SSE events carrying it. */
class ResponseBody {
  slow = false;
  private readonly encoder;
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly params: SpeechParams,
    private readonly delivery: DeliveryLimits,
    private readonly signal: AbortSignal,
  ) {
    this.encoder = createEncoder(params.format);
  }

  /** Sends 24 kHz samples (the headers first, with the first audio); false when the client is gone or too slow. */
  async send(pcm: Int16Array): Promise<boolean> {
    const head = this.started ? undefined : this.begin();
    const audio = this.encoder.push(pcm);
    return this.write(head && head.length > 0 ? Buffer.concat([head, audio]) : audio);
  }

  /** Sends what the encoder still holds (an MP3 encoder's last frames), once the audio is over; false as for send. */
  finish(): Promise<boolean> {
    return this.started ? this.write(this.encoder.finish()) : Promise.resolve(true);
  }

  private async write(bytes: Uint8Array): Promise<boolean> {
    if (bytes.length === 0) return true;
    const payload = this.params.sse ? sseEvent({ type: 'speech.audio.delta', audio: Buffer.from(bytes).toString('base64') }) : bytes;
    const result = await writeWithBackpressure(this.res, payload, this.delivery, this.signal);
    this.slow = result === 'slow_consumer';
    return result === 'sent';
  }

  /** Ends the response (for a text that made no audio, the headers and an empty stream). */
  end(): void {
    if (!this.started) {
      const head = this.begin();
      if (head.length > 0) this.res.write(this.params.sse ? sseEvent({ type: 'speech.audio.delta', audio: Buffer.from(head).toString('base64') }) : head);
    }
    if (this.params.sse) this.res.write(sseEvent({ type: 'speech.audio.done', usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 } }));
    this.res.end();
  }

  private begin(): Uint8Array {
    this.started = true;
    this.res.writeHead(200, {
      'Content-Type': this.params.sse ? 'text/event-stream' : this.encoder.contentType,
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    return this.encoder.start();
  }
}

function sseEvent(value: unknown): Buffer {
  return Buffer.from(`data: ${JSON.stringify(value)}\n\n`);
}
