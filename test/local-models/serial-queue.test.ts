/**
 * SerialQueue, the one-at-a-time queue in front of both local speech recognizers (Whisper's worker thread and
 * Moonshine), with jobs whose end the test controls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerialQueue } from '../../src/local-models/stt/serial-queue.js';
import { TranscriptionError } from '../../src/local-models/stt/transcription-types.js';

/** A runner whose jobs end when the test says so; it records what started, in order. */
function controlledRunner() {
  const started: string[] = [];
  const endings = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const run = (job: string) =>
    new Promise<string>((resolve, reject) => {
      started.push(job);
      endings.set(job, { resolve, reject });
    });
  const finish = (job: string) => endings.get(job)!.resolve(`done ${job}`);
  const fail = (job: string, err: Error) => endings.get(job)!.reject(err);
  return { run, started, finish, fail };
}

const code = (c: string) => (err: unknown) => err instanceof TranscriptionError && err.code === c;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialQueue', () => {
  it('runs one job at a time in arrival order and refuses more than maxQueue waiting', async () => {
    const runner = controlledRunner();
    const queue = new SerialQueue({ maxQueue: 1, run: runner.run, typicalMs: 50 });
    const a = queue.submit('a');
    const b = queue.submit('b');
    await assert.rejects(queue.submit('c'), code('queue_full'));
    assert.equal(queue.refused, 1);
    assert.deepEqual(runner.started, ['a']);
    assert.equal(queue.queued, 1);
    assert.ok(queue.busy);
    assert.equal(queue.estimatedWaitMs, 100, 'one running and one waiting, at the typical 50 ms');
    runner.finish('a');
    assert.equal(await a, 'done a');
    await tick();
    assert.deepEqual(runner.started, ['a', 'b']);
    runner.fail('b', new Error('broken'));
    await assert.rejects(b, /broken/);
    await tick();
    assert.equal(queue.busy, false);
  });

  it('rejects an aborted request at once, waiting or running; the running job is not started twice and the next runs', async () => {
    const runner = controlledRunner();
    const queue = new SerialQueue({ maxQueue: 4, run: runner.run, typicalMs: 50 });
    const running = new AbortController();
    const waiting = new AbortController();
    const a = queue.submit('a', running.signal);
    const b = queue.submit('b', waiting.signal);
    const c = queue.submit('c');
    waiting.abort();
    running.abort();
    await assert.rejects(a, code('aborted'));
    await assert.rejects(b, code('aborted'));
    await assert.rejects(queue.submit('d', AbortSignal.abort()), code('aborted'));
    assert.deepEqual(runner.started, ['a'], 'the next job waits for the aborted one to end in its runner');
    runner.finish('a');
    await tick();
    assert.deepEqual(runner.started, ['a', 'c'], 'the aborted waiting job never ran');
    runner.finish('c');
    assert.equal(await c, 'done c');
  });

  it('holds jobs while the runner cannot take them, and starts them on pump', async () => {
    const runner = controlledRunner();
    let available = false;
    const queue = new SerialQueue({ maxQueue: 1, run: runner.run, canRun: () => available, typicalMs: 50 });
    const a = queue.submit('a');
    await assert.rejects(queue.submit('b'), code('queue_full'), 'while the runner is away, maxQueue still holds');
    await tick();
    assert.deepEqual(runner.started, []);
    available = true;
    queue.pump();
    assert.deepEqual(runner.started, ['a']);
    runner.finish('a');
    assert.equal(await a, 'done a');
  });

  it('drains: new and waiting requests are refused as disposed, the running one finishes within the grace', async () => {
    const runner = controlledRunner();
    const queue = new SerialQueue({ maxQueue: 4, run: runner.run, typicalMs: 50 });
    const a = queue.submit('a');
    const b = assert.rejects(queue.submit('b'), code('disposed'));
    setTimeout(() => runner.finish('a'), 50);
    await queue.drain(10_000);
    assert.equal(await a, 'done a');
    await b;
    await assert.rejects(queue.submit('c'), code('disposed'));
    assert.ok(queue.closed);
    assert.deepEqual(runner.started, ['a']);
  });

  it('stops waiting for a running job after the grace', async () => {
    const runner = controlledRunner();
    const queue = new SerialQueue({ maxQueue: 4, run: runner.run, typicalMs: 50 });
    void queue.submit('a').catch(() => undefined);
    const started = performance.now();
    await queue.drain(100);
    assert.ok(performance.now() - started < 5000);
  });
});
