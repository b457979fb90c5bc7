import { z } from 'zod';

/**
 * The body of `POST /api/token`. Accepts what livekit-client's `TokenSource.endpoint()` sends
 * (the `TokenSourceRequest` protobuf as JSON with snake_case field names, which is what
 * LiveKit's agent-starter-react posts) plus two short camelCase aliases for hand-written clients.
 * Everything else is refused with a reason: a client must not pick its room or shape the room.
 */

const MAX_NAME = 64;
const MAX_METADATA = 2048;
const MAX_ATTRIBUTES = 16;

// Printable text only: names end up in other participants' UIs and in logs.
const noControlChars = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

const participantName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_NAME, `at most ${MAX_NAME} characters`)
  .refine(noControlChars, 'must not contain control characters');

const participantIdentity = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, '1 to 64 characters from A-Z a-z 0-9 _ . @ -');

/** Metadata is a string for LiveKit; a JSON object (e.g. {"voice": "..."}) is serialised for convenience. */
const metadata = z
  .union([z.string(), z.record(z.string(), z.json())], { error: 'a string or a JSON object' })
  .transform((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
  .refine((s) => s.length <= MAX_METADATA, `at most ${MAX_METADATA} characters once serialised`);

const attributes = z
  .record(z.string().min(1).max(64), z.string().max(256))
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
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `only "agents" may be set; the server configures the room (refused: ${issue.keys.join(', ')})` : undefined) },
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
      agentName: agent?.agent_name ?? agent?.agentName,
      agentMetadata: agent?.metadata,
    };
  });

export type TokenRequest = z.output<typeof tokenRequestSchema>;

/** Parses a body (already JSON-decoded; `undefined` = empty body) into a request or a one-line reason. */
export function parseTokenRequest(body: unknown): { ok: true; request: TokenRequest } | { ok: false; reason: string } {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    return { ok: false, reason: 'the body must be a JSON object' };
  }
  const result = tokenRequestSchema.safeParse(body ?? {});
  if (result.success) return { ok: true, request: result.data };
  const reason = result.error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  return { ok: false, reason };
}
