import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge } from 'prom-client';
import { byLabel, createMetricsRegistry, samples, total } from '../../src/ops/metrics.js';

describe('reading counts back from prom-client (what /status reports)', () => {
  test("samples() are exactly prom-client's own values (as get() returns them), so an upgrade that moves them fails here", async () => {
    const registry = createMetricsRegistry('legacy');
    const counter = new Counter({ name: 'vo_test_outcomes_total', help: 'test', labelNames: ['outcome', 'voice'] as const, registers: [registry] });
    const gauge = new Gauge({ name: 'vo_test_active', help: 'test', registers: [registry] });
    counter.inc({ outcome: 'completed', voice: 'a' });
    counter.inc({ outcome: 'completed', voice: 'b' }, 2);
    counter.inc({ outcome: 'stopped', voice: 'a' });
    gauge.inc();
    gauge.inc();
    gauge.dec();
    for (const metric of [counter, gauge]) {
      const values = (await metric.get()).values.map(({ value, labels }) => ({ value, labels }));
      assert.ok(values.length > 0);
      assert.deepEqual(samples(metric), values);
    }
    assert.deepEqual(byLabel(counter, 'outcome'), { completed: 3, stopped: 1 });
    assert.deepEqual(byLabel(counter, 'voice'), { a: 2, b: 2 });
    assert.equal(total(counter), 4);
    assert.equal(total(gauge), 1);
  });

  test('a metric nothing was recorded on reads as zero (no labels) or empty (labelled)', () => {
    const registry = createMetricsRegistry('legacy');
    assert.equal(total(new Counter({ name: 'vo_test_plain_total', help: 'test', registers: [registry] })), 0);
    assert.deepEqual(byLabel(new Counter({ name: 'vo_test_labelled_total', help: 'test', labelNames: ['code'], registers: [registry] }), 'code'), {});
  });
});
