import { EventEmitter } from 'node:events';

/** What a channel needs of its host process. */
export interface ChannelHost {
  readonly pid: number | undefined;
  readonly connected: boolean;
  sendTo(channel: number, message: unknown): boolean;
  kill(channel: number): void;
}

/**
 * One room's "job process" as the framework sees it: the part of ChildProcess its supervisor uses
 * (send, the message and exit events, kill, pid), carried by a channel of a shared room host.
 */
export class RoomChannel extends EventEmitter {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  /** The room whose job was started here; undefined while the channel is a warmed place. */
  room: string | undefined;

  constructor(
    private readonly host: ChannelHost,
    readonly id: number,
  ) {
    super();
  }

  /** The host's pid: the framework's memory watch measures the whole host. */
  get pid(): number | undefined {
    return this.host.pid;
  }

  get connected(): boolean {
    return this.exitCode === null && this.signalCode === null && this.host.connected;
  }

  send(message: unknown): boolean {
    if (!this.connected) return false;
    const framework = message as { case?: unknown; value?: { runningJob?: { job?: { room?: { name?: unknown } } } } } | null;
    if (framework?.case === 'startJobRequest') this.room = String(framework.value?.runningJob?.job?.room?.name ?? '');
    return this.host.sendTo(this.id, message);
  }

  /** Ends this room only; the host's other rooms go on. */
  kill(_signal?: NodeJS.Signals | number): boolean {
    if (!this.connected) return false;
    this.killed = true;
    this.host.kill(this.id);
    return true;
  }

  /** A framework message from the host for this channel. */
  deliver(message: unknown): void {
    if (this.exitCode === null && this.signalCode === null) this.emit('message', message);
  }

  /** The channel ended (its job is over, or the host exited). */
  ended(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    if (code === null && signal === null) this.exitCode = 1;
    this.emit('exit', code, signal);
  }
}
