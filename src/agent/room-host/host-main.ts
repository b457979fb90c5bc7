/**
 * A room host: the job process the main process forks (see ./hosts.ts), hosting up to N rooms.
 *
 * argv: the job module, the number of rooms this host takes over its life.
 * Each channel speaks the framework's job-process protocol; the job module is loaded and
 * prewarmed once, for all of them. The main process decides which rooms come here (and how many
 * at once) and when the host retires; it leaves once retired and empty, or empty after its last room.
 */
import { pathToFileURL } from 'node:url';
import {
  JobContext,
  JobProcess,
  type RunningJobInfo,
  initializeLogger,
  isAgent,
  log,
  loggerOptions,
  runWithJobContextAsync,
  telemetry,
  type defineAgent,
} from '@livekit/agents';
import { Room, RoomEvent, dispose } from '@livekit/rtc-node';
import { type FromHost, isToHost } from './protocol.js';

/** Longest wait for a room's entry function to return once its room is closing. */
const ENTRY_EXIT_WAIT_MS = 10_000;
/** Longest wait for a room's agent session to close. */
const SESSION_CLOSE_WAIT_MS = 10_000;
/** With no ping from the main process this long, it is gone: the host leaves. */
const ORPHAN_MS = 15_000;

/** What the job module exports: its entry and, optionally, its prewarm. */
type JobAgent = Parameters<typeof defineAgent<Record<string, unknown>>>[0];
type FrameworkMessage = { case?: string; value?: Record<string, unknown> };

const [agentFile, capacityArg] = process.argv.slice(2);
const capacity = Number(capacityArg);

/** The framework's logger once the first channel has set it up (as its job processes log); stderr before that. */
const hostLog = {
  debug: (fields: object, text: string) => (loggerOptions() ? log().debug(fields, text) : undefined),
  warn: (fields: object, text: string) => (loggerOptions() ? log().warn(fields, text) : process.stderr.write(`room host: ${text}\n`)),
  error: (fields: object, text: string) => (loggerOptions() ? log().error(fields, text) : process.stderr.write(`room host: ${text}\n`)),
};

function post(envelope: FromHost): void {
  try {
    if (process.connected) process.send?.(envelope);
  } catch {
    // the main process is gone: the orphan timer ends this host
  }
}

// Ctrl-C reaches the whole process group: the main process decides when its rooms end.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// As the framework's own job processes do: its internals leave rejections nobody awaits.
process.on('unhandledRejection', (reason) => hostLog.debug({ error: reason }, 'unhandled promise rejection in room host'));

if (!agentFile || !Number.isInteger(capacity) || capacity < 1 || !process.send) {
  process.stderr.write('room host: started without its job module and room count by the agent component\n');
  process.exit(2);
}

const agent = await loadAgent(agentFile);
const proc = new JobProcess();
let prewarmed: Promise<unknown> | undefined;
let loggerReady = false;
let loopMonitor: ReturnType<typeof telemetry.loopMonitor.startMonitoring>;
let opened = 0;
let retiring = false;
let leaving = false;
const channels = new Map<number, Channel>();

const orphanTimer = setTimeout(() => leave('the main process stopped pinging'), ORPHAN_MS);
process.on('disconnect', () => leave('the main process is gone'));

process.on('message', (envelope: unknown) => {
  if (!isToHost(envelope)) return;
  if ('retire' in envelope) {
    retiring = true;
    leaveIfDone();
    return;
  }
  let channel = channels.get(envelope.channel);
  if (!channel) {
    if ('kill' in envelope || retiring || opened >= capacity) {
      post({ channel: envelope.channel, exit: 1 });
      return;
    }
    opened += 1;
    channel = new Channel(envelope.channel);
    channels.set(channel.id, channel);
  }
  if ('kill' in envelope) channel.kill();
  else channel.handle(envelope.message as FrameworkMessage);
});

class Channel {
  private job: RunningRoom | undefined;
  private closed = false;

  constructor(readonly id: number) {}

  handle(message: FrameworkMessage): void {
    switch (message.case) {
      case 'initializeRequest':
        void this.initialize(message.value ?? {});
        break;
      case 'pingRequest':
        orphanTimer.refresh();
        this.send('pongResponse', { lastTimestamp: message.value?.timestamp, timestamp: Date.now() });
        break;
      case 'startJobRequest': {
        if (this.job) return;
        const info = message.value?.runningJob as RunningJobInfo | undefined;
        if (!info) return;
        this.job = new RunningRoom(info, (type, value) => this.send(type, value));
        void this.job.done.then(() => this.end(0));
        break;
      }
      case 'shutdownRequest': {
        this.send('shutdownRequestAck');
        const reason = typeof message.value?.reason === 'string' ? message.value.reason : 'shutdown request';
        if (this.job) this.job.close(reason);
        else {
          this.send('shuttingDown');
          this.end(0);
        }
        break;
      }
    }
  }

  /** The framework killed this room's "process": the room is left at once. */
  kill(): void {
    if (!this.job) {
      this.end(1);
      return;
    }
    this.job.close('killed');
    void this.job.room.disconnect().catch(() => undefined);
    this.end(1);
  }

  private async initialize(options: Record<string, unknown>): Promise<void> {
    if (!loggerReady && options.loggerOptions) {
      initializeLogger(options.loggerOptions as Parameters<typeof initializeLogger>[0]);
      loggerReady = true;
      // the framework's event-loop watch, as in its own job processes: one for the rooms that share this loop
      loopMonitor = telemetry.loopMonitor.startMonitoring({ name: 'job' });
    }
    try {
      prewarmed ??= Promise.resolve(agent.prewarm?.(proc));
      await prewarmed;
    } catch (err) {
      // the job module logged why; a host that cannot prewarm serves no room
      hostLog.error({ error: err }, 'room host could not prewarm the job module');
      process.exit(1);
    }
    this.send('initializeResponse');
  }

  private send(type: string, value?: unknown): void {
    if (!this.closed) post({ channel: this.id, message: { case: type, value } });
  }

  private end(code: number): void {
    if (this.closed) return;
    this.closed = true;
    channels.delete(this.id);
    post({ channel: this.id, exit: code });
    leaveIfDone();
  }
}

/** One room's job: as the framework runs it in a process of its own. */
class RunningRoom {
  readonly room = new Room();
  readonly done: Promise<void>;
  private closing: ((reason: string) => void) | undefined;
  private closeReason: string | undefined;

  constructor(
    info: RunningJobInfo,
    private readonly send: (type: string, value?: unknown) => void,
  ) {
    const closed = new Promise<string>((resolve) => {
      this.closing = resolve;
    });
    this.room.on(RoomEvent.Disconnected, () => this.close('room disconnected'));
    // the framework's inference executor serves its own turn-detection model, which is not used here
    const inference = {
      doInference: async (method: string) => {
        throw new Error(`inference of ${method}: no inference executor in a room host`);
      },
    };
    const ctx = new JobContext(
      proc,
      info,
      this.room,
      () => undefined,
      (reason) => this.close(reason || 'shutdown'),
      inference,
    );
    const entry = runWithJobContextAsync(ctx, async () => agent.entry(ctx));
    entry.catch((err: unknown) => {
      hostLog.error({ error: err, jobId: info.job.id }, 'job entry failed');
      this.close('job crashed');
    });
    this.done = this.run(ctx, entry, closed);
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.closing?.(reason);
  }

  private async run(ctx: JobContext, entry: Promise<unknown>, closed: Promise<string>): Promise<void> {
    const reason = await closed;
    this.send('exiting', { reason });
    await settleWithin(entry, ENTRY_EXIT_WAIT_MS);
    await runWithJobContextAsync(ctx, async () => {
      const session = (ctx as unknown as { _primaryAgentSession?: { close(): Promise<void> } })._primaryAgentSession;
      if (session) await settleWithin(session.close(), SESSION_CLOSE_WAIT_MS);
      this.send('shuttingDown');
      await this.room.disconnect().catch((err: unknown) => hostLog.warn({ error: err }, 'error while leaving the room'));
      const results = await Promise.allSettled(ctx.shutdownCallbacks.map(async (callback) => callback()));
      for (const result of results) {
        if (result.status === 'rejected') hostLog.error({ error: result.reason }, 'error in a job shutdown callback');
      }
    });
    this.send('done');
  }
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function loadAgent(file: string): Promise<JobAgent> {
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const candidate = isAgent(module.default) ? module.default : (module.default as { default?: unknown } | undefined)?.default;
  if (!isAgent(candidate)) throw new Error(`room host: ${file} has no agent as its default export`);
  return candidate;
}

function leaveIfDone(): void {
  if (channels.size > 0) return;
  if (retiring || opened >= capacity) leave();
}

function leave(why?: string): void {
  if (leaving) return;
  leaving = true;
  if (why) hostLog.warn({ rooms: channels.size }, `room host leaving: ${why}`);
  for (const channel of channels.values()) channel.kill();
  clearTimeout(orphanTimer);
  if (loopMonitor) telemetry.loopMonitor.stopMonitoring(loopMonitor);
  void dispose()
    .catch(() => undefined)
    .finally(() => process.exit(0));
}
