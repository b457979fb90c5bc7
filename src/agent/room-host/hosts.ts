/**
 * Main-process side of the room hosts: job processes that host several rooms each.
 *
 * agents-js forks one process per room; each one pays again for Node itself, the framework, the
 * WebRTC and onnxruntime libraries and the VAD model (about 190 MB RSS a room, measured). A room
 * host keeps the framework's supervision per room (every room is a channel it pings, starts and
 * shuts down as a process of its own) while up to `roomsPerProcess` rooms share one process.
 * - A warmed room (the framework's idle process) is a channel too, so it counts as one of them.
 * - A host that has no room left leaves: there is always at most one host with free places.
 * - After `roomsPerProcessLife` rooms a host takes no more, so whatever conversations leave
 *   behind in a process cannot grow without bound.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../../ops/logger.js';
import { RoomChannel } from './channel.js';
import { type ToHost, isFromHost } from './protocol.js';

/** How long a host may take to give up a killed room before the whole process is killed. */
const KILL_GRACE_MS = 5000;

export interface RoomHostsOptions {
  /** The host program (./host-main). */
  hostFile: string;
  /** The job module every room runs. */
  agentFile: string;
  /** Rooms one host holds at once (warmed ones included); 1 = a process per room. */
  roomsPerProcess: number;
  /** Rooms one host takes over its life. */
  roomsPerProcessLife: number;
  logger: Logger;
}

class RoomHost {
  readonly channels = new Map<number, RoomChannel>();
  opened = 0;
  exited = false;
  /** Told to leave once empty: takes no more rooms. */
  retired = false;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly gone: Promise<void>;
  private readonly killTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: RoomHostsOptions,
    private readonly onExit: (host: RoomHost) => void,
  ) {
    this.child = fork(options.hostFile, [options.agentFile, String(options.roomsPerProcessLife)], { execArgv: process.execArgv });
    this.gone = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (envelope: unknown) => {
      if (!isFromHost(envelope)) return;
      const channel = this.channels.get(envelope.channel);
      if (!channel) return;
      if ('exit' in envelope) {
        this.channels.delete(envelope.channel);
        channel.ended(envelope.exit);
        // decided here, not in the host, so no room can be opened on a host that is leaving
        if (this.channels.size === 0) this.retire();
      } else {
        channel.deliver(envelope.message);
      }
    });
    // the framework sees the failure as every room's process exiting
    this.child.on('error', (err) => options.logger.warn({ err: err.message, pid: this.child.pid }, 'room host process error'));
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const timer of this.killTimers) clearTimeout(timer);
      for (const channel of this.channels.values()) channel.ended(code, signal);
      if (this.channels.size > 0 && code !== 0) {
        options.logger.warn({ pid: this.child.pid, code, signal, rooms: this.channels.size }, 'room host process ended with rooms still in it');
      }
      this.channels.clear();
      this.onExit(this);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get connected(): boolean {
    return !this.exited && this.child.connected;
  }

  get takesMore(): boolean {
    return this.connected && !this.retired && this.channels.size < this.options.roomsPerProcess && this.opened < this.options.roomsPerProcessLife;
  }

  open(): RoomChannel {
    this.opened += 1;
    const channel = new RoomChannel(this, this.opened);
    this.channels.set(channel.id, channel);
    return channel;
  }

  sendTo(channel: number, message: unknown): boolean {
    return this.post({ channel, message });
  }

  kill(channel: number): void {
    this.post({ channel, kill: true });
    const timer = setTimeout(() => {
      this.killTimers.delete(timer);
      if (!this.channels.has(channel) || this.exited) return;
      this.options.logger.warn({ pid: this.child.pid, rooms: this.channels.size }, 'room host did not give up a killed room in time: killing the process');
      this.child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    timer.unref();
    this.killTimers.add(timer);
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.post({ retire: true });
  }

  private post(envelope: ToHost): boolean {
    if (!this.connected) return false;
    try {
      return this.child.send(envelope);
    } catch {
      return false;
    }
  }
}

export class RoomHosts {
  private readonly hosts = new Set<RoomHost>();

  constructor(private readonly options: RoomHostsOptions) {}

  /** A channel on a host that takes more rooms, or on a new host. */
  open(): RoomChannel {
    let host = [...this.hosts].find((h) => h.takesMore);
    if (!host) {
      host = new RoomHost(this.options, (ended) => this.hosts.delete(ended));
      this.hosts.add(host);
    }
    return host.open();
  }

  /** Each host's pid, the rooms it holds and its warmed places (for /status and the tests). */
  status(): Array<{ pid: number | undefined; rooms: string[]; warmed: number }> {
    return [...this.hosts].map((host) => {
      const rooms = [...host.channels.values()].flatMap((c) => (c.room === undefined ? [] : [c.room]));
      return { pid: host.pid, rooms, warmed: host.channels.size - rooms.length };
    });
  }

  /**
   * After the framework has shut its rooms down: the hosts leave; any still there at the deadline are killed.
   */
  async stop(deadline: number): Promise<void> {
    for (const host of this.hosts) host.retire();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.hosts].map((host) => host.gone)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    for (const host of this.hosts) host.child.kill('SIGKILL');
  }
}
