import { type ClientMessage, type ErrorCode, isControlSized, parseClientMessage } from './protocol.js';
import { TokenBucket } from '../ops/rate-limit.js';

export interface MessageGateLimits {
  maxMessageBytes: number;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  controlRateLimitPerSec: number;
  controlRateLimitBurst: number;
}

export type Admission = { ok: true; message: ClientMessage } | { ok: false; code: ErrorCode; reason: string };

/**
 * Decides what of a client's messages is acted on: the rate limits (PAUSE, RESUME, STOP and ping
 * draw from their own budget, so a flood of texts never blocks them), the size limit, text
 * frames only, and a valid message.
 */
export class MessageGate {
  private readonly rate: TokenBucket;
  private readonly controlRate: TokenBucket;

  constructor(private readonly limits: MessageGateLimits) {
    this.rate = new TokenBucket(limits.rateLimitPerSec, limits.rateLimitBurst);
    this.controlRate = new TokenBucket(limits.controlRateLimitPerSec, limits.controlRateLimitBurst);
  }

  admit(data: Buffer, isBinary: boolean): Admission {
    const { limits } = this;
    // controls and pings are tiny: only those are parsed before the rate limit decides
    const early = !isBinary && isControlSized(data.length) ? parseClientMessage(data.toString('utf8')) : undefined;
    const isControl = early?.ok === true && (early.message.type === 'control' || early.message.type === 'ping');
    if (!(isControl ? this.controlRate : this.rate).tryTake()) {
      const [rate, burst] = isControl ? [limits.controlRateLimitPerSec, limits.controlRateLimitBurst] : [limits.rateLimitPerSec, limits.rateLimitBurst];
      return {
        ok: false,
        code: 'RATE_LIMITED',
        reason: `more than ${rate} ${isControl ? 'control ' : ''}messages per second (burst ${burst}); message dropped`,
      };
    }
    if (data.length > limits.maxMessageBytes) {
      return { ok: false, code: 'MESSAGE_TOO_LARGE', reason: `message of ${data.length} bytes exceeds the limit of ${limits.maxMessageBytes} bytes` };
    }
    if (isBinary) return { ok: false, code: 'INVALID_MESSAGE', reason: 'binary frames are not accepted from clients; send JSON text frames' };
    const parsed = early ?? parseClientMessage(data.toString('utf8'));
    return parsed.ok ? parsed : { ok: false, code: 'INVALID_MESSAGE', reason: parsed.reason };
  }
}
