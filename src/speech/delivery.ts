import type { Writable } from 'node:stream';

export interface DeliveryLimits {
  /** While more than this many bytes wait unsent, no more audio is produced for the client (LEGACY_SEND_HIGH_WATER_BYTES). */
  highWaterBytes: number;
  /** A client held at the high-water mark that reads nothing for this long is cut off (LEGACY_SLOW_CONSUMER_TIMEOUT_MS). */
  slowConsumerMs: number;
}

export type Delivery = 'sent' | 'closed' | 'slow_consumer';

/**
 * Writes audio to an HTTP response or a TCP socket with the legacy server's backpressure: past
 * the high-water mark it waits for the client to read (so synthesis pauses with it), and gives up
 * with `slow_consumer` when the client reads nothing for the timeout. `closed` when the stream
 * ended or `signal` aborted.
 */
export async function writeWithBackpressure(stream: Writable, bytes: Uint8Array, limits: DeliveryLimits, signal?: AbortSignal): Promise<Delivery> {
  if (signal?.aborted || stream.destroyed || stream.writableEnded) return 'closed';
  stream.write(bytes);
  if (stream.writableLength <= limits.highWaterBytes) return 'sent';
  return new Promise<Delivery>((resolve) => {
    const done = (result: Delivery) => {
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onClose);
      resolve(result);
    };
    const onDrain = () => done('sent');
    const onClose = () => done('closed');
    const timer = setTimeout(() => done('slow_consumer'), limits.slowConsumerMs);
    stream.on('drain', onDrain);
    stream.once('close', onClose);
    signal?.addEventListener('abort', onClose, { once: true });
  });
}
