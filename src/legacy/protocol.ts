import { z } from 'zod';

/**
 * The legacy wire protocol: what clients may send (validated with zod) and what the server sends.
 * Documented messages keep their exact shape; extensions (docs/protocol.md) are opt-in and only
 * reach clients that asked for them, except `control_ack`, the reply to a control command.
 */

export const SAMPLE_RATE = 48_000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000;
export const FRAME_BYTES = FRAME_SAMPLES * 2;

/** Error codes: the first five are the documented ones; the rest name a limit or an extension failure. */
export const ERROR_CODES = [
  'INTERNAL_ERROR',
  'INVALID_MESSAGE',
  'WORKER_UNAVAILABLE',
  'SYNTHESIS_FAILED',
  'CONNECTION_ERROR',
  'MESSAGE_TOO_LARGE',
  'TEXT_TOO_LONG',
  'QUEUE_FULL',
  'RATE_LIMITED',
  'IDLE_TIMEOUT',
  'SESSION_TIMEOUT',
  'SLOW_CONSUMER',
  'VOICE_UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Refusals answered over HTTP before the WebSocket upgrade. */
export const REFUSAL_CODES = ['BAD_REQUEST', 'UNAUTHORIZED', 'ORIGIN_NOT_ALLOWED', 'TOO_MANY_CONNECTIONS', 'SHUTTING_DOWN', 'NOT_FOUND'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** Why a text or a session ended (the first three are the documented values). */
export type EndReason = 'completed' | 'client_disconnect' | 'error' | 'stopped' | 'shutdown' | 'idle_timeout' | 'session_timeout' | 'slow_consumer';

const voiceName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a voice name (letters, digits, "_", "-", ".")');
const speed = z.number().min(0.25).max(4);
const utteranceId = z.string().min(1).max(128);

export const TextMessage = z.object({
  type: z.literal('text'),
  text: z.string().min(1),
  is_final: z.boolean().optional().default(true),
  // extensions
  utterance_id: utteranceId.optional(),
  voice: voiceName.optional(),
  speed: speed.optional(),
});

export const CONTROL_COMMANDS = ['PAUSE', 'RESUME', 'STOP'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export const ControlMessage = z.object({
  type: z.literal('control'),
  command: z.enum(CONTROL_COMMANDS),
});

/** Extension: opt into extra messages and set session defaults. Every field is optional. */
export const ConfigureMessage = z.object({
  type: z.literal('configure'),
  utterance_events: z.boolean().optional(),
  binary_audio: z.boolean().optional(),
  voice: voiceName.optional(),
  speed: speed.optional(),
});

export const PingMessage = z.object({
  type: z.literal('ping'),
  id: z.union([z.string().max(128), z.number()]).optional(),
});

export const StatsMessage = z.object({ type: z.literal('stats') });

export const ClientMessage = z.discriminatedUnion('type', [TextMessage, ControlMessage, ConfigureMessage, PingMessage, StatsMessage]);
export type ClientMessage = z.output<typeof ClientMessage>;
export type TextMessage = z.output<typeof TextMessage>;
export type ConfigureMessage = z.output<typeof ConfigureMessage>;

/** Controls and pings fit in this many bytes; only messages this small are parsed before the rate limit. */
const CONTROL_MAX_BYTES = 512;
export const isControlSized = (bytes: number): boolean => bytes <= CONTROL_MAX_BYTES;

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; reason: string };

/** Parses one text frame. Never throws: anything that is not a valid message yields a reason. */
export function parseClientMessage(raw: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'message is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'message must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'message has no string "type"' };
  if (!['text', 'control', 'configure', 'ping', 'stats'].includes(type)) {
    return { ok: false, reason: `unknown message type ${JSON.stringify(type.slice(0, 40))}` };
  }
  const result = ClientMessage.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `"${issue.path.join('.')}": ` : '';
    return { ok: false, reason: `invalid ${type} message: ${where}${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, message: result.data };
}

// --- server -> client (documented)

export const sessionStart = (sessionId: string) => ({ type: 'session_start', session_id: sessionId }) as const;

export const audioMessage = (pcm: Buffer, sequence: number) => ({
  type: 'audio' as const,
  pcm: pcm.toString('base64'),
  sample_rate: SAMPLE_RATE,
  frame_ms: FRAME_MS,
  sequence,
});

export const sessionEnd = (sessionId: string, reason: EndReason, extra?: Record<string, unknown>) => ({
  type: 'session_end' as const,
  session_id: sessionId,
  reason,
  ...extra,
});

export const errorMessage = (code: ErrorCode, message: string, extra?: Record<string, unknown>) => ({
  type: 'error' as const,
  message,
  code,
  ...extra,
});
