/**
 * A job module for the room host tests: it records what the host does with it (prewarm, entry,
 * shutdown) in the file ROOM_HOST_TEST_LOG names, one JSON line each, and follows the job's
 * metadata: "throw" fails its entry, "crash" crashes the whole process.
 */
import { appendFileSync } from 'node:fs';
import { defineAgent } from '@livekit/agents';

function record(event: Record<string, unknown>): void {
  const file = process.env['ROOM_HOST_TEST_LOG'];
  if (file) appendFileSync(file, `${JSON.stringify({ pid: process.pid, ...event })}\n`);
}

export default defineAgent({
  prewarm: async (proc) => {
    record({ event: 'prewarm' });
    proc.userData['prewarmed'] = true;
  },
  entry: async (ctx) => {
    record({ event: 'entry', job: ctx.job.id, prewarmed: ctx.proc.userData['prewarmed'] === true });
    ctx.addShutdownCallback(async () => record({ event: 'shutdown', job: ctx.job.id }));
    if (ctx.job.metadata === 'throw') throw new Error('this entry fails');
    if (ctx.job.metadata === 'crash') {
      setTimeout(() => {
        throw new Error('this process crashes');
      }, 10);
    }
  },
});
