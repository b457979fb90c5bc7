import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initializeLogger, loggerOptions } from '@livekit/agents';
import { pino } from 'pino';
import { runJobsInRoomHosts, stopRunningJobsIn } from '../../src/agent/room-host/framework-hook.js';
import { RoomHosts } from '../../src/agent/room-host/hosts.js';
import { isFromHost, isToHost } from '../../src/agent/room-host/protocol.js';
import { eventually } from '../support/legacy.js';

const HOST_FILE = fileURLToPath(new URL('../../src/agent/room-host/host-main.ts', import.meta.url));
const AGENT_FILE = fileURLToPath(new URL('../support/room-host/agent.ts', import.meta.url));
const PARENT_FILE = fileURLToPath(new URL('../support/room-host/parent.ts', import.meta.url));

/** The framework's own job executor (not exported by the package), the one its worker uses. */
interface Executor {
  proc: { pid?: number; kill(signal?: string): boolean };
  start(): Promise<void>;
  initialize(options: { sessionEndTimeout: number }): Promise<void>;
  launchJob(info: unknown): Promise<void>;
  close(): Promise<void>;
  join(): Promise<void>;
}
type ExecutorClass = new (options: Record<string, unknown>) => Executor;

interface Recorded {
  pid: number;
  event: 'prewarm' | 'entry' | 'shutdown';
  job?: string;
  prewarmed?: boolean;
}

describe('room hosts: several rooms per job process, each supervised by the framework as a process of its own', () => {
  let JobProcExecutor: ExecutorClass;
  let hosts: RoomHosts;
  let dir: string;
  let logFile: string;
  const executors: Executor[] = [];

  before(async () => {
    if (!loggerOptions()) initializeLogger({ pretty: false, level: 'fatal' });
    const url = new URL('./ipc/job_proc_executor.js', import.meta.resolve('@livekit/agents'));
    JobProcExecutor = ((await import(url.href)) as { JobProcExecutor: ExecutorClass }).JobProcExecutor;
    dir = mkdtempSync(join(tmpdir(), 'room-host-'));
    logFile = join(dir, 'events.jsonl');
    process.env['ROOM_HOST_TEST_LOG'] = logFile;
    hosts = new RoomHosts({ hostFile: HOST_FILE, agentFile: AGENT_FILE, roomsPerProcess: 2, roomsPerProcessLife: 3, logger: pino({ level: 'silent' }) });
    await runJobsInRoomHosts(hosts);
  });

  after(async () => {
    stopRunningJobsIn(hosts);
    await Promise.allSettled(executors.map((e) => e.close()));
    await hosts.stop(Date.now() + 5000);
    delete process.env['ROOM_HOST_TEST_LOG'];
    rmSync(dir, { recursive: true, force: true });
  });

  const recorded = (): Recorded[] => {
    try {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Recorded);
    } catch {
      return [];
    }
  };
  const until = (what: string, check: () => boolean, ms = 30_000) =>
    eventually(check, ms, what).catch((err: Error) => {
      throw new Error(`${err.message}; recorded: ${JSON.stringify(recorded())}`);
    });
  async function warmed(): Promise<Executor> {
    const executor = new JobProcExecutor({
      agent: AGENT_FILE,
      initializeTimeout: 60_000,
      closeTimeout: 10_000,
      memoryWarnMB: 0,
      memoryLimitMB: 0,
      pingInterval: 2500,
      pingTimeout: 60_000,
      highPingThreshold: 500,
    });
    executors.push(executor);
    await executor.start();
    await executor.initialize({ sessionEndTimeout: 5000 });
    return executor;
  }
  const job = (id: string, metadata = '') => ({
    acceptArguments: { name: '', identity: 'agent', metadata: '' },
    job: { id, metadata, agentName: 'test', room: { name: `room-${id}`, sid: `RM_${id}` } },
    url: 'ws://127.0.0.1:9',
    token: 'unused',
    workerId: 'W_test',
  });
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const joined = async (executor: Executor, ms = 30_000) => {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([executor.join().then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
    clearTimeout(timer);
    return ended;
  };

  it('runs up to the configured number of rooms at once in one process, prewarmed once, then starts another', async () => {
    const [a, b, c] = [await warmed(), await warmed(), await warmed()];
    const [pa, pb, pc] = [a.proc.pid!, b.proc.pid!, c.proc.pid!];
    assert.equal(pa, pb, 'the first two rooms share a process');
    assert.notEqual(pc, pa, 'the third room (AGENT_ROOMS_PER_PROCESS=2) goes to another process');
    await a.launchJob(job('J1'));
    await b.launchJob(job('J2'));
    assert.deepEqual(
      hosts.status().sort((x, y) => (x.pid === pa ? -1 : y.pid === pa ? 1 : 0)),
      [
        { pid: pa, rooms: ['room-J1', 'room-J2'], warmed: 0 },
        { pid: pc, rooms: [], warmed: 1 },
      ],
    );
    await until('both entries', () => recorded().filter((r) => r.event === 'entry').length === 2);
    const prewarms = recorded().filter((r) => r.event === 'prewarm');
    assert.deepEqual(prewarms.map((r) => r.pid).sort(), [pa, pc].sort(), 'one prewarm per process, not per room');
    for (const entry of recorded().filter((r) => r.event === 'entry')) {
      assert.equal(entry.pid, pa);
      assert.equal(entry.prewarmed, true, 'the room found the process prewarmed');
    }
  });

  it("ends one room on the framework's shutdown while the other goes on; a process leaves after its last room", async () => {
    const [a, b] = executors;
    const pid = a!.proc.pid!;
    await a!.close();
    assert.ok(await joined(a!), 'the shut-down room ended');
    await until('J1 shutdown callback', () => recorded().some((r) => r.event === 'shutdown' && r.job === 'J1'));
    assert.ok(alive(pid), 'the process still hosts the other room');
    assert.ok(!recorded().some((r) => r.event === 'shutdown' && r.job === 'J2'), 'the other room was not shut down');
    // the freed place takes the next room; that is the third of its life (AGENT_ROOMS_PER_PROCESS_LIFE=3)
    const d = await warmed();
    assert.equal(d.proc.pid, pid, 'a freed place is taken again');
    await b!.close();
    assert.ok(await joined(b!));
    await until('J2 shutdown callback', () => recorded().some((r) => r.event === 'shutdown' && r.job === 'J2'));
    assert.ok(alive(pid), 'the process still holds the warmed room');
    await d.close();
    assert.ok(await joined(d));
    await until('the process to leave after its last room', () => !alive(pid));
  });

  it('leaves a killed room at once, and an entry that throws ends only its own room', async () => {
    const c = executors[2]!;
    const pid = c.proc.pid!;
    const e = await warmed();
    assert.equal(e.proc.pid, pid, 'the other process has a free place');
    await c.launchJob(job('J3', 'throw'));
    await e.launchJob(job('J4'));
    assert.ok(await joined(c), 'the room whose entry threw ended');
    await until('J4 entry', () => recorded().some((r) => r.event === 'entry' && r.job === 'J4'));
    assert.ok(alive(pid), 'the process goes on for the other room');

    const f = await warmed();
    assert.equal(f.proc.pid, pid);
    await f.launchJob(job('J5'));
    await until('J5 entry', () => recorded().some((r) => r.event === 'entry' && r.job === 'J5'));
    f.proc.kill('SIGKILL');
    assert.ok(await joined(f, 10_000), 'the killed room ended within the grace period');
    assert.ok(alive(pid), 'the process still hosts the other room');
    const elsewhere = await warmed();
    assert.notEqual(elsewhere.proc.pid, pid, 'a process that took 3 rooms (AGENT_ROOMS_PER_PROCESS_LIFE) takes no more, a place free or not');
    await e.close();
    assert.ok(await joined(e));
    await until('the process to leave after its last room', () => !alive(pid));
    await elsewhere.close();
    assert.ok(await joined(elsewhere));
  });

  it('a crash of the process ends every room in it, as the framework sees a process exit', async () => {
    const g = await warmed();
    const h = await warmed();
    assert.equal(g.proc.pid, h.proc.pid);
    const pid = g.proc.pid!;
    await g.launchJob(job('J7'));
    await h.launchJob(job('J8', 'crash'));
    assert.ok(await joined(g), 'the other room of the crashed process ended');
    assert.ok(await joined(h));
    assert.ok(!alive(pid));
    // and the next room is served by a fresh process
    const next = await warmed();
    assert.notEqual(next.proc.pid, pid);
    await next.close();
    assert.ok(await joined(next));
  });

  it('leaves when the main process is gone, rather than outlive it', async () => {
    const parent = spawn(process.execPath, [...process.execArgv, PARENT_FILE], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.on('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`the test's main process exited early (${code})`)));
    });
    assert.ok(alive(pid), 'the host runs');
    parent.kill('SIGKILL');
    await until('the orphaned host to leave', () => !alive(pid), 10_000);
  });

  it('accepts only well-formed envelopes either way', () => {
    assert.ok(isToHost({ channel: 1, message: { case: 'pingRequest' } }));
    assert.ok(isToHost({ channel: 2, kill: true }));
    assert.ok(isToHost({ retire: true }));
    for (const bad of [null, 'x', {}, { channel: 'a', message: {} }, { channel: 1.5, kill: true }, { channel: 1 }, { retire: 'yes' }]) {
      assert.equal(isToHost(bad), false, JSON.stringify(bad));
    }
    assert.ok(isFromHost({ channel: 1, exit: 0 }));
    assert.ok(isFromHost({ channel: 1, message: { case: 'done' } }));
    for (const bad of [null, { channel: 1 }, { channel: 1, exit: 'no' }, { exit: 0 }]) assert.equal(isFromHost(bad), false, JSON.stringify(bad));
  });
});
