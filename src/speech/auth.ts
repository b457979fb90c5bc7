import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The LEGACY_AUTH_TOKEN rule of the speech server's HTTP port, for WebSocket upgrades and OpenAI
 * requests alike: when a token is set, a request must carry it as `Authorization: Bearer TOKEN`
 * or `?token=TOKEN`. Compared in constant time (digests of equal length).
 */
export class TokenCheck {
  private readonly digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.digest = token ? sha256(token) : undefined;
  }

  get required(): boolean {
    return this.digest !== undefined;
  }

  /** True when no token is required or the request presents it. */
  allows(req: IncomingMessage): boolean {
    const expected = this.digest;
    if (!expected) return true;
    const bearer = req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
    const query = new URLSearchParams(req.url?.split('?')[1] ?? '');
    const candidates = [bearer, query.get('token') ?? undefined].filter((v): v is string => !!v);
    return candidates.some((candidate) => timingSafeEqual(sha256(candidate), expected));
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
