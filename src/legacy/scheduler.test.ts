import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SynthesisScheduler } from './scheduler.js';
import { TokenBucket } from './rate-limit.js';

test('the scheduler runs at most `concurrency` jobs and serves first sentences before later ones', async () => {
  const scheduler = new SynthesisScheduler(1);
  const order: string[] = [];
  const releaseFirst = await scheduler.acquire(false);
  const later = scheduler.acquire(false).then((release) => (order.push('later'), release()));
  const urgent = scheduler.acquire(true).then((release) => (order.push('urgent'), release()));
  assert.equal(scheduler.queued, 2);
  releaseFirst();
  await Promise.all([later, urgent]);
  assert.deepEqual(order, ['urgent', 'later']);
});

test('a waiting job whose signal aborts leaves the queue and rejects', async () => {
  const scheduler = new SynthesisScheduler(1);
  const release = await scheduler.acquire(true);
  const controller = new AbortController();
  const waiting = scheduler.acquire(true, controller.signal);
  controller.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(scheduler.queued, 0);
  release();
  const again = await scheduler.acquire(true);
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
