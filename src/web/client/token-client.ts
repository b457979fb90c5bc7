import { TokenError } from './errors.js';

export interface ConnectionDetails {
  serverUrl: string;
  roomName: string;
  participantName: string;
  participantToken: string;
}

function isConnectionDetails(value: unknown): value is ConnectionDetails {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['serverUrl', 'roomName', 'participantName', 'participantToken'].every((k) => typeof v[k] === 'string');
}

/**
 * Asks our server for a fresh room and a token, dispatching `assistant` (else the server's
 * default). `voice` (from `?voice=` in the page URL) rides along as participant metadata.
 */
export async function fetchConnectionDetails(options: { voice?: string; assistant?: string } = {}): Promise<ConnectionDetails> {
  const body = {
    ...(options.voice ? { metadata: { voice: options.voice } } : {}),
    ...(options.assistant ? { assistant: options.assistant } : {}),
  };
  const response = await fetch('/api/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  const payload: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const reason =
      typeof payload === 'object' && payload !== null && typeof (payload as { error?: unknown }).error === 'string'
        ? (payload as { error: string }).error
        : `HTTP ${response.status}`;
    if (response.status === 429) throw new TokenError(`Too many attempts: ${reason}.`);
    if (response.status === 503) throw new TokenError(`The server cannot start a conversation right now: ${reason}.`);
    throw new TokenError(`The server refused the request for an access token: ${reason}.`);
  }
  if (!isConnectionDetails(payload)) throw new TokenError('The server answered the token request with something unexpected.');
  return payload;
}
