import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** System audio players that read raw 48 kHz mono s16le from stdin, in order of preference. */
export const PLAYERS = {
  aplay: ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', '48000', '-c', '1', '-'],
  paplay: ['--raw', '--format=s16le', '--rate=48000', '--channels=1'],
  play: ['-q', '-t', 'raw', '-r', '48000', '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', '-'],
  ffplay: ['-nodisp', '-autoexit', '-loglevel', 'error', '-f', 's16le', '-ar', '48000', '-ac', '1', '-i', '-'],
} as const;
export type PlayerName = keyof typeof PLAYERS;

export function findOnPath(command: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function findPlayer(pathVar: string | undefined, preferred?: string): PlayerName | undefined {
  const names = Object.keys(PLAYERS) as PlayerName[];
  const order = preferred && names.includes(preferred as PlayerName) ? [preferred as PlayerName] : names;
  return order.find((name) => findOnPath(name, pathVar) !== undefined);
}

/**
 * Feeds a player process in real time (at most `leadMs` ahead of the ear), so a pause or stop
 * takes effect at once instead of after everything the server already sent has played.
 */
export class RealtimePlayer {
  private readonly child: ChildProcess;
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private playheadAt = 0;
  private paused = false;
  private failed = false;

  constructor(
    readonly name: PlayerName,
    private readonly onFailure: (message: string) => void,
    private readonly leadMs = 200,
  ) {
    this.child = spawn(name, [...PLAYERS[name]], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-400)));
    this.child.on('error', (err) => this.fail(`${name} could not start: ${err.message}`));
    this.child.on('exit', (code) => {
      if (code !== 0 && code !== null) this.fail(`${name} exited with code ${code}${stderr ? `: ${stderr.trim()}` : ''}`);
    });
    this.child.stdin?.on('error', () => undefined);
  }

  enqueue(frame: Buffer): void {
    if (this.failed) return;
    this.queue.push(frame);
    this.schedule();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Drops audio not yet handed to the player. */
  clear(): void {
    this.queue.length = 0;
  }

  /** Resolves when everything queued has been handed over and the player finished. */
  async finish(): Promise<void> {
    while (!this.failed && this.queue.length > 0) await new Promise((r) => setTimeout(r, 20));
    this.child.stdin?.end();
    if (this.child.exitCode === null && !this.failed) await new Promise((r) => this.child.once('exit', r));
  }

  kill(): void {
    if (this.timer) clearTimeout(this.timer);
    this.child.kill();
  }

  private schedule(): void {
    if (this.timer || this.paused || this.failed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, 0);
  }

  private pump(): void {
    if (this.paused || this.failed) return;
    const now = performance.now();
    this.playheadAt = Math.max(this.playheadAt, now);
    while (this.queue.length > 0 && this.playheadAt - now < this.leadMs) {
      const frame = this.queue.shift() as Buffer;
      this.child.stdin?.write(frame);
      this.playheadAt += (frame.length / 2 / 48_000) * 1000;
    }
    if (this.queue.length > 0)
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, 20);
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.queue.length = 0;
    this.onFailure(message);
  }
}
