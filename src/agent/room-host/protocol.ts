/**
 * The envelope between the main process and a room host (a job process that hosts several rooms).
 *
 * Each of the framework's job "processes" is a channel of a host: the framework's own messages
 * (initialize, ping, start job, shutdown and their answers) travel inside an envelope that names
 * the channel, so the framework supervises every room as if it had a process of its own.
 */

/** Main process -> host. */
export type ToHost =
  /** A framework message for one channel (the first one opens it). */
  | { channel: number; message: unknown }
  /** Give up this channel's room at once (the framework killed its "process"). */
  | { channel: number; kill: true }
  /** Take no more channels; leave once the open ones have ended. */
  | { retire: true };

/** Host -> main process. */
export type FromHost =
  /** A framework message from one channel. */
  | { channel: number; message: unknown }
  /** The channel ended, as a job process would have exited. */
  | { channel: number; exit: number };

export function isFromHost(value: unknown): value is FromHost {
  if (typeof value !== 'object' || value === null) return false;
  const envelope = value as Record<string, unknown>;
  if (!Number.isInteger(envelope.channel)) return false;
  return 'message' in envelope || Number.isInteger(envelope.exit);
}

export function isToHost(value: unknown): value is ToHost {
  if (typeof value !== 'object' || value === null) return false;
  const envelope = value as Record<string, unknown>;
  if (envelope.retire === true) return true;
  if (!Number.isInteger(envelope.channel)) return false;
  return 'message' in envelope || envelope.kill === true;
}
