import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SynthesisScheduler } from '../../src/speech/scheduler.js';
import { TokenBucket } from '../../src/ops/rate-limit.js';

test('the scheduler runs at most `concurrency` jobs and serves the earliest deadline first', async () => {
  const now = 0;
  const scheduler = new SynthesisScheduler(1, () => now);
  const order: string[] = [];
  const releaseFirst = await scheduler.acquire(0);
  const later = scheduler.acquire(2000).then((release) => {
    order.push('later sentence');
    release();
  });
  const urgent = scheduler.acquire(0).then((release) => {
    order.push('first sentence');
    release();
  });
  assert.equal(scheduler.queued, 2);
  releaseFirst();
  await Promise.all([later, urgent]);
  assert.deepEqual(order, ['first sentence', 'later sentence']);
});

test('a later sentence whose slack ran out goes before a new first sentence (no starvation)', async () => {
  let now = 0;
  const scheduler = new SynthesisScheduler(1, () => now);
  const order: string[] = [];
  const busy = await scheduler.acquire(0);
  const later = scheduler.acquire(500).then((release) => {
    order.push('later sentence');
    release();
  });
  now = 1000; // the later sentence is now overdue
  const urgent = scheduler.acquire(0).then((release) => {
    order.push('new first sentence');
    release();
  });
  busy();
  await Promise.all([later, urgent]);
  assert.deepEqual(order, ['later sentence', 'new first sentence']);
});

test('a waiting job whose signal aborts leaves the queue and rejects', async () => {
  const scheduler = new SynthesisScheduler(1);
  const release = await scheduler.acquire(0);
  const controller = new AbortController();
  const waiting = scheduler.acquire(0, controller.signal);
  controller.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(scheduler.queued, 0);
  release();
  const again = await scheduler.acquire(0);
  again();
});

test('the token bucket allows the burst then the steady rate', () => {
  let now = 0;
  const bucket = new TokenBucket(10, 3, () => now);
  assert.deepEqual([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()], [true, true, true, false]);
  now += 100; // one token refills every 100 ms at 10/s
  assert.equal(bucket.tryTake(), true);
  assert.equal(bucket.tryTake(), false);
  now += 10_000;
  assert.deepEqual([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()], [true, true, true, false]);
});
