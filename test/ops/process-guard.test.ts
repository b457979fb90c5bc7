import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import { createProcessGuard } from '../../src/ops/process-guard.js';

const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

async function counter(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<number> {
  const match = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(await registry.metrics());
  return Number(match?.[1] ?? Number.NaN);
}

describe('process guard (last-resort handler)', () => {
  test('logs and counts an uncaught exception and keeps going; repeated ones within the window are fatal, once', async () => {
    let now = 0;
    const fatal: string[] = [];
    const metrics = createMetricsRegistry('legacy');
    const guard = createProcessGuard({ logger, metrics, onFatal: (r) => fatal.push(r), maxExceptions: 3, windowMs: 10_000, now: () => now });
    assert.equal(guard.exception(new Error('one')), false);
    now += 6000;
    assert.equal(guard.exception(new Error('two')), false);
    now += 6000; // the first one left the window
    assert.equal(guard.exception(new Error('three')), false);
    assert.deepEqual(fatal, []);
    now += 1000;
    assert.equal(guard.exception(new Error('four')), true, 'three within 10 s');
    assert.equal(guard.exception(new Error('five')), true);
    assert.deepEqual(fatal, ['repeated uncaught exceptions'], 'onFatal called once');
    assert.equal(await counter(metrics, 'uncaught_exceptions_total'), 5);
    guard.rejection(new Error('nobody awaited me'));
    assert.equal(await counter(metrics, 'unhandled_rejections_total'), 1);
  });

  const dir = mkdtempSync(join(tmpdir(), 'vo-guard-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('in a real process: one throw from a callback is survived, a burst ends the process with exit 1 at once', () => {
    const script = join(dir, 'guarded.ts');
    const guardModule = join(PROJECT_ROOT, 'src/ops/process-guard.ts');
    const metricsModule = join(PROJECT_ROOT, 'src/ops/metrics.ts');
    const loggerModule = join(PROJECT_ROOT, 'src/ops/logger.ts');
    writeFileSync(
      script,
      `import { createProcessGuard } from ${JSON.stringify(guardModule)};
import { createMetricsRegistry } from ${JSON.stringify(metricsModule)};
import { createLogger } from ${JSON.stringify(loggerModule)};
const metrics = createMetricsRegistry('legacy');
const logger = createLogger({ LOG_LEVEL: 'error', LOG_FORMAT: 'json' });
createProcessGuard({ logger, metrics, maxExceptions: 3, onFatal: () => { process.stdout.write('fatal\\n'); process.exit(1); } }).install();
const server = setInterval(() => undefined, 1000); // stands for the servers that keep the process alive
setTimeout(() => { throw new Error('stray callback error'); }, 10);
setTimeout(() => { void Promise.reject(new Error('stray rejection')); }, 20);
setTimeout(async () => {
  const text = await metrics.metrics();
  process.stdout.write('alive ' + /uncaught_exceptions_total\\{[^}]*\\} (\\d+)/.exec(text)?.[1] + ' ' + /unhandled_rejections_total\\{[^}]*\\} (\\d+)/.exec(text)?.[1] + '\\n');
  for (let i = 0; i < 3; i++) setTimeout(() => { throw new Error('burst ' + i); }, 5);
}, 200);
void server;
`,
    );
    const started = Date.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
    const took = Date.now() - started;
    assert.match(result.stdout, /^alive 1 1$/m, `survived the first throw and rejection: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /^fatal$/m);
    assert.equal(result.status, 1);
    assert.ok(took < 20_000, `ended promptly (${took} ms)`);
    const logged = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    assert.ok(logged.some((l) => /uncaught exception: logged and counted, still serving/.test(l.msg)));
    assert.ok(logged.some((l) => /3 uncaught exceptions within 60 s: shutting down/.test(l.msg)));
  });
});
