import type { JobContext } from '@livekit/agents';
import type { RemoteParticipant, TextStreamReader } from '@livekit/rtc-node';
import type { Logger } from '../ops/logger.js';
import type { TokenBucket } from '../ops/rate-limit.js';
import { describeError } from './resilient-stt.js';
import { readBoundedText } from './settings.js';

/** The topic of typed chat (LiveKit's `lk.chat` text streams, what the page sends). */
const CHAT_TOPIC = 'lk.chat';
/** Refused chat messages are logged at most this often per conversation. */
const CHAT_WARN_INTERVAL_MS = 10_000;

/**
 * Typed chat from the conversation's user on `lk.chat`: at most `maxChars` characters (a longer
 * stream is closed as soon as it is too long, so it is never buffered whole) and at most the
 * gate's rate; other senders and refused messages are dropped.
 */
export function registerChat(
  room: JobContext['room'],
  user: RemoteParticipant,
  options: { maxChars: number; gate: TokenBucket; logger: Logger; onMessage: (text: string) => void },
): void {
  const { maxChars, gate, logger, onMessage } = options;
  let lastWarnAt = 0;
  const refuse = (reader: TextStreamReader, why: string) => {
    void reader.close().catch(() => undefined);
    const now = Date.now();
    if (now - lastWarnAt >= CHAT_WARN_INTERVAL_MS) {
      lastWarnAt = now;
      logger.warn({ why, max_chars: maxChars }, `typed chat message ignored: ${why}`);
    }
  };
  room.registerTextStreamHandler(CHAT_TOPIC, (reader, sender) => {
    if (sender.identity !== user.identity) return refuse(reader, 'not from the user of this conversation');
    if (!gate.tryTake()) return refuse(reader, 'more messages per minute than AGENT_CHAT_RATE_PER_MIN');
    // UTF-8 needs at most 4 bytes per character: a declared size beyond that is too long already.
    if (typeof reader.info.totalSize === 'number' && reader.info.totalSize > maxChars * 4) return refuse(reader, 'longer than AGENT_MAX_CHAT_CHARS');
    readBoundedText(reader, maxChars).then(
      (text) => {
        if (text === undefined) return refuse(reader, 'longer than AGENT_MAX_CHAT_CHARS');
        if (text.trim().length === 0) return;
        onMessage(text);
      },
      (err: unknown) => logger.warn({ cause: describeError(err) }, 'typed chat message could not be read'),
    );
  });
}
