import { z } from 'zod';

/**
 * The body of `POST /api/token`. Accepts what livekit-client's `TokenSource.endpoint()` sends
 * (the `TokenSourceRequest` protobuf as JSON with snake_case field names, which is what
 * LiveKit's agent-starter-react posts) plus camelCase aliases for hand-written clients and
 * `assistant`, the configured assistant to talk to (the page's selector).
 * Everything else is refused with a reason: a client must not pick its room or shape the room.
 */

const MAX_NAME = 64;
const MAX_METADATA = 2048;
const MAX_ATTRIBUTES = 16;

/** Stable codes of refused token requests (the `code` of a 400 answer). */
export const TOKEN_REQUEST_CODES = {
  invalid: 'INVALID_REQUEST',
  forbiddenCharacters: 'FORBIDDEN_CHARACTERS',
  reservedIdentity: 'RESERVED_IDENTITY',
  reservedAttribute: 'RESERVED_ATTRIBUTE',
} as const;

// Printable text only: names end up in other participants' UIs and in logs. Control (Cc) and
// format (Cf: bidi overrides, zero-width characters) characters can hide or reorder what is shown.
const FORBIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}]/u;
const printable = (s: string) => !FORBIDDEN_CHARACTERS.test(s);
const forbidden = { message: 'must not contain control or format characters', params: { code: TOKEN_REQUEST_CODES.forbiddenCharacters } };

/** Identities starting with this are the agents' (LiveKit Agents names its participants `agent-…`). */
export const RESERVED_IDENTITY_PREFIX = 'agent-';
/** Attribute keys starting with this are LiveKit's own (`lk.agent.state`, `lk.transcription_final`, …). */
export const RESERVED_ATTRIBUTE_PREFIX = 'lk.';

const participantName = z
  .string()
  .refine(printable, forbidden)
  .transform((v) => v.trim())
  .pipe(z.string().min(1, 'must not be empty').max(MAX_NAME, `at most ${MAX_NAME} characters`));

const participantIdentity = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, '1 to 64 characters from A-Z a-z 0-9 _ . @ -')
  .refine((v) => !v.toLowerCase().startsWith(RESERVED_IDENTITY_PREFIX), {
    message: `must not start with "${RESERVED_IDENTITY_PREFIX}" (reserved for agents)`,
    params: { code: TOKEN_REQUEST_CODES.reservedIdentity },
  });

/** Metadata is a string for LiveKit; a JSON object (e.g. {"voice": "..."}) is serialised for convenience. */
const metadata = z
  .union([z.string(), z.record(z.string(), z.json())], { error: 'a string or a JSON object' })
  .transform((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
  .refine((s) => s.length <= MAX_METADATA, `at most ${MAX_METADATA} characters once serialised`);

const attributeKey = z
  .string()
  .min(1)
  .max(64)
  .refine(printable, forbidden)
  .refine((k) => !k.toLowerCase().startsWith(RESERVED_ATTRIBUTE_PREFIX), {
    message: `attribute names must not start with "${RESERVED_ATTRIBUTE_PREFIX}" (reserved for LiveKit)`,
    params: { code: TOKEN_REQUEST_CODES.reservedAttribute },
  });

const attributes = z
  .record(attributeKey, z.string().max(256).refine(printable, forbidden))
  .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`);

const agentDispatch = z.strictObject({
  agent_name: z.string().optional(),
  // Protobuf JSON parsers accept the camelCase spelling too.
  agentName: z.string().optional(),
  metadata: z.string().max(MAX_METADATA, `at most ${MAX_METADATA} characters`).optional(),
  // LiveKit Cloud deployment selector; meaningless for a self-hosted worker, accepted and ignored.
  deployment: z.string().max(MAX_NAME).optional(),
});

const roomConfig = z.strictObject(
  {
    agents: z.array(agentDispatch).max(1, 'at most one agent can be dispatched').optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `only "agents" may be set; the server configures the room (refused: ${issue.keys.join(', ')})` : undefined,
  },
);

export const tokenRequestSchema = z
  .strictObject(
    {
      participant_name: participantName.optional(),
      participantName: participantName.optional(),
      participant_identity: participantIdentity.optional(),
      participantIdentity: participantIdentity.optional(),
      participant_metadata: metadata.optional(),
      participantMetadata: metadata.optional(),
      metadata: metadata.optional(),
      participant_attributes: attributes.optional(),
      participantAttributes: attributes.optional(),
      // Which configured assistant to dispatch (GET /api/assistants lists them); the server checks the name.
      assistant: z.string({ error: 'the name of an assistant (GET /api/assistants lists them)' }).max(256, 'at most 256 characters').optional(),
      room_config: roomConfig.optional(),
      roomConfig: roomConfig.optional(),
      room_name: z.never({ error: 'cannot be chosen: the server hands out a fresh room for every token' }).optional(),
      roomName: z.never({ error: 'cannot be chosen: the server hands out a fresh room for every token' }).optional(),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
        return undefined;
      },
    },
  )
  .transform((b) => {
    const config = b.room_config ?? b.roomConfig;
    const agent = config?.agents?.[0];
    return {
      participantName: b.participant_name ?? b.participantName,
      participantIdentity: b.participant_identity ?? b.participantIdentity,
      metadata: b.participant_metadata ?? b.participantMetadata ?? b.metadata,
      attributes: b.participant_attributes ?? b.participantAttributes,
      assistant: b.assistant,
      agentName: agent?.agent_name ?? agent?.agentName,
      agentMetadata: agent?.metadata,
    };
  });

export type TokenRequest = z.output<typeof tokenRequestSchema>;

/**
 * Parses a body (already JSON-decoded; `undefined` = empty body) into a request, or a one-line
 * reason with a stable code (the first specific one among the issues, else INVALID_REQUEST).
 */
export function parseTokenRequest(body: unknown): { ok: true; request: TokenRequest } | { ok: false; reason: string; code: string } {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    return { ok: false, reason: 'the body must be a JSON object', code: TOKEN_REQUEST_CODES.invalid };
  }
  const result = tokenRequestSchema.safeParse(body ?? {});
  if (result.success) return { ok: true, request: result.data };
  // A refused record key is reported as one "invalid_key" issue wrapping the key's own issues.
  const issues = result.error.issues.flatMap((i) => (i.code === 'invalid_key' ? i.issues.map((inner) => ({ ...inner, path: i.path })) : [i])).slice(0, 5);
  // Paths can hold client-chosen keys: never echo control or format characters back.
  const shownPath = (path: readonly PropertyKey[]) => path.map((p) => String(p).replace(new RegExp(FORBIDDEN_CHARACTERS, 'gu'), '\uFFFD')).join('.');
  const reason = issues.map((i) => (i.path.length > 0 ? `${shownPath(i.path)}: ${i.message}` : i.message)).join('; ');
  const specific = issues
    .map((i) => (i.code === 'custom' ? (i.params as { code?: unknown } | undefined)?.code : undefined))
    .find((c): c is string => typeof c === 'string');
  return { ok: false, reason, code: specific ?? TOKEN_REQUEST_CODES.invalid };
}
