import { setImmediate as nextTurn } from 'node:timers/promises';
import { audioMessage, FRAME_MS } from './protocol.js';

/** The part of a `ws` WebSocket the session uses. */
export interface SessionSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export interface FrameSenderOptions {
  socket: SessionSocket;
  pacing: 'none' | 'realtime';
  /** Above this many unsent bytes no further frame is handed to the socket until the client reads. */
  highWaterBytes: number;
  /** Above this many unsent bytes nothing at all is sent (the client is cut off as a slow consumer). */
  hardLimitBytes: number;
  /** A client whose unsent bytes stay above the high-water mark this long without shrinking is cut off. */
  slowConsumerMs: number;
  /** The client stopped reading; called once. */
  onSlowConsumer(bufferedBytes: number): void;
  onFrame(): void;
}

const OPEN = 1;
/** Frames sent back to back before yielding to the event loop so PAUSE/STOP are read promptly. */
const FRAMES_PER_TURN = 4;
/** How often a sender held back by a full buffer looks again. */
const DRAIN_POLL_MS = 10;

/**
 * Delivers one session's output: a gap-free frame sequence honouring pause, realtime pacing and
 * backpressure (frames wait while the socket's buffer is full; only a client that reads nothing
 * for `slowConsumerMs` is cut off). Control replies and events go out at once.
 */
export class FrameSender {
  private sequenceNumber = 0;
  private bytes = 0;
  private paused = false;
  private stopped = false;
  private resumeWaiters: Array<() => void> = [];
  private pacingOrigin: { at: number; sequence: number } | undefined;
  binaryAudio = false;

  constructor(private readonly options: FrameSenderOptions) {}

  /** The last sequence number handed to the socket. */
  get sequence(): number {
    return this.sequenceNumber;
  }

  get bytesSent(): number {
    return this.bytes;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pacingOrigin = undefined;
    this.wake();
  }

  /** STOP: whatever was paused is dropped; the next frame starts a new pacing run. */
  reset(): void {
    this.paused = false;
    this.pacingOrigin = undefined;
    this.wake();
  }

  /** No more frames will be sent; waiting deliveries return false. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  sendJson(message: object): void {
    this.sendRaw(JSON.stringify(message));
  }

  /**
   * Sends frames in order. `onFirst` runs after the first frame leaves. Resolves false when
   * `signal` aborted or the sender stopped before every frame was handed to the socket.
   */
  async sendFrames(frames: readonly Buffer[], signal: AbortSignal, onSent?: (sequence: number) => void): Promise<boolean> {
    for (let i = 0; i < frames.length; i++) {
      if (i > 0 && i % FRAMES_PER_TURN === 0) await nextTurn();
      if (!(await this.waitUntilDeliverable(signal))) return false;
      const frame = frames[i] as Buffer;
      this.sequenceNumber++;
      if (this.binaryAudio) this.sendRaw(frame);
      else this.sendJson(audioMessage(frame, this.sequenceNumber));
      this.options.onFrame();
      onSent?.(this.sequenceNumber);
    }
    return !(signal.aborted || this.stopped);
  }

  private cancelled(signal: AbortSignal): boolean {
    return signal.aborted || this.stopped;
  }

  /** Waits for resume, the frame's pacing slot and buffer room, re-checking pause after each wait. */
  private async waitUntilDeliverable(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      while (this.paused && !this.cancelled(signal)) await new Promise<void>((resolve) => this.resumeWaiters.push(resolve));
      if (this.cancelled(signal)) return false;
      if (!(await this.waitForRoom(signal))) return false;
      if (this.options.pacing === 'realtime') await this.waitForFrameSlot(signal);
      if (this.cancelled(signal)) return false;
      if (!this.paused) return true;
    }
  }

  /** Backpressure: hold frames while the socket's buffer is above the high-water mark. */
  private async waitForRoom(signal: AbortSignal): Promise<boolean> {
    const { socket, highWaterBytes, slowConsumerMs } = this.options;
    if (socket.bufferedAmount <= highWaterBytes) return true;
    let lowest = socket.bufferedAmount;
    let progressAt = performance.now();
    while (socket.bufferedAmount > highWaterBytes) {
      if (this.cancelled(signal) || socket.readyState !== OPEN) return false;
      const buffered = socket.bufferedAmount;
      if (buffered < lowest) {
        lowest = buffered;
        progressAt = performance.now();
      } else if (performance.now() - progressAt >= slowConsumerMs) {
        this.cutOff(buffered);
        return false;
      }
      await sleep(DRAIN_POLL_MS, signal);
    }
    return true;
  }

  /** Realtime pacing: frame n of a run leaves at origin + n * 20 ms; a pause or a new utterance restarts the run. */
  private async waitForFrameSlot(signal: AbortSignal): Promise<void> {
    const now = performance.now();
    const origin = this.pacingOrigin;
    if (!origin || now - (origin.at + (this.sequenceNumber - origin.sequence) * FRAME_MS) > FRAME_MS * 5) {
      this.pacingOrigin = { at: now, sequence: this.sequenceNumber };
      return;
    }
    const wait = origin.at + (this.sequenceNumber - origin.sequence) * FRAME_MS - now;
    if (wait > 1) await sleep(wait, signal);
  }

  private sendRaw(data: string | Buffer): void {
    const { socket, hardLimitBytes } = this.options;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > hardLimitBytes) {
      this.cutOff(socket.bufferedAmount);
      return;
    }
    socket.send(data);
    this.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  }

  private cutOff(buffered: number): void {
    if (this.stopped) return;
    this.stop();
    this.options.onSlowConsumer(buffered);
  }

  private wake(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
