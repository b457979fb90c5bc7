/**
 * One conversation's VAD, heard by the session and by EarlySTT: one Silero stream per room instead
 * of two (each resamples the room's audio and runs the model on every 32 ms window).
 *
 * The session creates and feeds the stream as usual; each event it reads is also handed to the
 * subscribers, in the order the session sees them. The VAD's own metrics stay on the wrapped VAD,
 * where nothing here reads them.
 */
import { VAD, type VADEvent, type VADStream } from '@livekit/agents';

export type VADListener = (event: VADEvent) => void;

export class SharedVAD extends VAD {
  label: string;
  readonly #inner: VAD;
  readonly #listeners = new Set<VADListener>();

  constructor(inner: VAD) {
    super(inner.capabilities);
    this.#inner = inner;
    this.label = `shared<${inner.label}>`;
  }

  override get minSilenceDuration(): number | null {
    return this.#inner.minSilenceDuration;
  }

  stream(): VADStream {
    const stream = this.#inner.stream();
    const next = stream.next.bind(stream);
    stream.next = async () => {
      const result = await next();
      if (!result.done) for (const listener of this.#listeners) listener(result.value);
      return result;
    };
    return stream;
  }

  /** Hears every event the session reads from now on; returns the unsubscribe. The listener runs inside the session's VAD loop and must not throw. */
  subscribe(listener: VADListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
