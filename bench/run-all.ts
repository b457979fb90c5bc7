/** `npm run bench`: every benchmark in turn (each prints its own table), stopping at the first failure. */
import { spawnSync } from 'node:child_process';

const benches = ['tts', 'legacy', 'agent', 'models'];
for (const name of benches) {
  process.stdout.write(`\n=== bench:${name}\n`);
  const result = spawnSync('npm', ['run', '--silent', `bench:${name}`], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`bench:${name} failed (exit ${result.status})\n`);
    process.exit(result.status ?? 1);
  }
}
