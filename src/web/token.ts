import { randomBytes } from 'node:crypto';
import { AccessToken, RoomAgentDispatch, RoomConfiguration, TrackSource, type VideoGrant } from 'livekit-server-sdk';
import type { Config } from '../config/schema.js';
import type { TokenRequest } from './token-request.js';

/** What LiveKit's starter frontends expect back from a token endpoint. */
export interface ConnectionDetails {
  serverUrl: string;
  roomName: string;
  participantName: string;
  participantToken: string;
}

export type TokenConfig = Pick<
  Config,
  'LIVEKIT_URL' | 'LIVEKIT_API_KEY' | 'LIVEKIT_API_SECRET' | 'AGENT_NAME' | 'WEB_PUBLIC_LIVEKIT_URL' | 'WEB_ROOM_PREFIX' | 'WEB_TOKEN_TTL_SECONDS'
> &
  // Only shown by GET /api/assistants without an assistants file.
  Partial<Pick<Config, 'AGENT_GREETING'>>;

/** Why tokens cannot be issued at all (answered with 503), or undefined when they can. */
export function missingCredentials(config: TokenConfig): string | undefined {
  const missing = (['LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET'] as const).filter((name) => config[name].trim() === '');
  if (missing.length === 0) return undefined;
  return `LiveKit credentials are not configured (${missing.join(' and ')} empty): set them on the server to hand out tokens`;
}

function randomSuffix(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Mints a participant token for a fresh room: join, subscribe, publish the microphone only (no
 * camera, no screen share) and data (the page's typed chat goes over `lk.chat` text streams, which
 * the agent bounds in size and rate), on that room only, with the chosen assistant dispatched
 * through the token's room configuration (`agentName`, chosen by chooseAssistant). The participant
 * cannot change its own name, metadata or attributes afterwards.
 */
export async function issueToken(config: TokenConfig, request: TokenRequest, agentName: string): Promise<ConnectionDetails> {
  const roomName = `${config.WEB_ROOM_PREFIX}${randomSuffix(9)}`;
  const participantIdentity = request.participantIdentity ?? `user-${randomSuffix(6)}`;
  const participantName = request.participantName ?? 'user';

  const token = new AccessToken(config.LIVEKIT_API_KEY, config.LIVEKIT_API_SECRET, {
    identity: participantIdentity,
    name: participantName,
    ttl: config.WEB_TOKEN_TTL_SECONDS,
    ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
    ...(request.attributes !== undefined ? { attributes: request.attributes } : {}),
  });
  const grant: VideoGrant = {
    room: roomName,
    roomJoin: true,
    canPublish: true,
    canPublishSources: [TrackSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: false,
  };
  token.addGrant(grant);
  token.roomConfig = new RoomConfiguration({
    agents: [new RoomAgentDispatch({ agentName, metadata: request.agentMetadata ?? '' })],
  });

  return {
    serverUrl: config.WEB_PUBLIC_LIVEKIT_URL ?? config.LIVEKIT_URL,
    roomName,
    participantName,
    participantToken: await token.toJwt(),
  };
}
