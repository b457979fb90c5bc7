import type { RoomHosts } from './hosts.js';

interface ExecutorPrototype {
  createProcess: (this: unknown) => unknown;
}

let current: RoomHosts | undefined;
let installed = false;

/**
 * From now on the framework's job executors take a channel of `hosts` where they would fork a process.
 *
 * agents-js 1.9 exports neither its process pool nor its executor, and its worker creates them
 * itself; the executor's module is reached by file. Everything else of the framework's supervision
 * (warm processes, initialize, ping, memory watch, shutdown) is unchanged and runs per room.
 */
export async function runJobsInRoomHosts(hosts: RoomHosts): Promise<void> {
  if (!installed) {
    const url = new URL('./ipc/job_proc_executor.js', import.meta.resolve('@livekit/agents'));
    const module = (await import(url.href)) as { JobProcExecutor?: { prototype: Partial<ExecutorPrototype> } };
    const prototype = module.JobProcExecutor?.prototype;
    if (!prototype || typeof prototype.createProcess !== 'function') {
      throw new Error('@livekit/agents has no JobProcExecutor.createProcess any more: room hosts need updating to this version');
    }
    const forkProcess = prototype.createProcess;
    installed = true;
    prototype.createProcess = function createProcess(this: unknown) {
      return current ? current.open() : forkProcess.call(this);
    };
  }
  current = hosts;
}

/** The framework forks its own job processes again (when `hosts` is still the one in use). */
export function stopRunningJobsIn(hosts: RoomHosts): void {
  if (current === hosts) current = undefined;
}
