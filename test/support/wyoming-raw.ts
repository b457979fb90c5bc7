/** A bare TCP Wyoming client for hostile-input tests: sends raw bytes, collects the events the server writes. */
import { connect, type Socket } from 'node:net';
import { encodeEvent, EventReader, type WyomingEvent } from '../../src/wyoming/framing.js';

export class RawWyoming {
  readonly events: WyomingEvent[] = [];
  closed = false;
  private readonly reader = new EventReader({ maxHeaderBytes: 1 << 20, maxDataBytes: 1 << 20, maxPayloadBytes: 1 << 24 });
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (bytes: Buffer) => {
      this.events.push(...this.reader.push(bytes));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawWyoming> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawWyoming(socket)));
      socket.once('error', reject);
    });
  }

  send(type: string, data?: Record<string, unknown>, payload?: Uint8Array): void {
    this.socket.write(encodeEvent(type, data, payload));
  }

  raw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `predicate` holds (checked on every event and on close); rejects after `timeoutMs`. */
  async until(predicate: (c: RawWyoming) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.events.map((e) => e.type).join(' ')}; closed: ${this.closed}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  ofType(type: string): WyomingEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
