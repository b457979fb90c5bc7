import { z } from 'zod';
import type { VoiceCatalog } from '../speech/voices.js';
import { DEFAULT_FORMAT, isSupportedFormat, OPENAI_FORMATS, SUPPORTED_FORMATS, type SupportedFormat } from './formats.js';

/** OpenAI's built-in voice names; each maps to OPENAI_VOICE_MAP's choice, else TTS_VOICE. */
export const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;

const requestSchema = z.object({
  model: z.string().min(1, 'model is required').max(256),
  input: z.string(),
  voice: z.union([z.string().min(1).max(256), z.object({ id: z.string().min(1).max(256) })]),
  response_format: z.string().max(32).optional(),
  speed: z.number().finite().min(0.25, 'speed must be between 0.25 and 4').max(4, 'speed must be between 0.25 and 4').optional(),
  instructions: z.string().optional(),
  stream_format: z.enum(['audio', 'sse'], { error: 'stream_format must be audio or sse' }).optional(),
});

export interface SpeechParams {
  input: string;
  /** The installed Piper voice to speak with. */
  voice: string;
  format: SupportedFormat;
  speed: number | undefined;
  sse: boolean;
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Validates a parsed `/v1/audio/speech` body and resolves its voice; throws RequestError naming the
 * offending parameter. `model` may be anything (tts-1, gpt-4o-mini-tts, ...); `instructions` is ignored.
 */
export async function parseSpeechRequest(
  body: unknown,
  options: { maxInputChars: number; voiceMap: Readonly<Record<string, string>>; catalog: VoiceCatalog },
): Promise<SpeechParams> {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path[0] !== undefined ? String(issue.path[0]) : null;
    const missing = param !== null && typeof body === 'object' && body !== null && !(param in body);
    throw new RequestError(
      missing ? `${param} is required` : `invalid ${param ?? 'body'}: ${issue?.message ?? 'malformed'}`,
      param,
      missing ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  const request = parsed.data;
  if (request.input.trim().length === 0) throw new RequestError('input must contain some text', 'input', 'invalid_value');
  if (request.input.length > options.maxInputChars) {
    throw new RequestError(`input of ${request.input.length} characters exceeds the limit of ${options.maxInputChars}`, 'input', 'string_above_max_length');
  }
  const format = request.response_format ?? DEFAULT_FORMAT;
  if (!isSupportedFormat(format)) {
    const known = (OPENAI_FORMATS as readonly string[]).includes(format);
    throw new RequestError(
      `response_format ${JSON.stringify(format.slice(0, 32))} is ${known ? 'not available on this server' : 'unknown'}; supported: ${SUPPORTED_FORMATS.join(', ')}`,
      'response_format',
      'unsupported_value',
    );
  }
  const voice = await resolveVoice(typeof request.voice === 'string' ? request.voice : request.voice.id, options);
  return { input: request.input, voice, format, speed: request.speed, sse: request.stream_format === 'sse' };
}

async function resolveVoice(requested: string, options: { voiceMap: Readonly<Record<string, string>>; catalog: VoiceCatalog }): Promise<string> {
  const { catalog, voiceMap } = options;
  const mapped = voiceMap[requested] ?? voiceMap[requested.toLowerCase()];
  const alias = mapped ?? ((OPENAI_VOICES as readonly string[]).includes(requested.toLowerCase()) ? catalog.defaultVoice : undefined);
  const name = alias ?? requested;
  if (await catalog.find(name)) return name;
  const installed = (await catalog.list()).map((v) => v.name);
  const shown = JSON.stringify(requested.slice(0, 64));
  const why = alias ? `${shown} maps to ${name}, which is not installed` : `${shown} is neither an installed voice nor an OpenAI voice name`;
  throw new RequestError(`voice ${why}; installed: ${installed.join(', ') || 'none'}`, 'voice', 'voice_not_found');
}
