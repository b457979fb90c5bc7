import { collectDefaultMetrics, type Counter, type Gauge, Registry } from 'prom-client';
import type { Mode } from '../config/schema.js';

/**
 * One registry per process. Every series carries `mode` as a default label, so dashboards can
 * tell the agent, legacy and hybrid deployments apart. Components create their metrics on it.
 */
export function createMetricsRegistry(mode: Mode): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ mode });
  collectDefaultMetrics({ register: registry });
  return registry;
}

type LabelValues = Partial<Record<string, string | number>>;
type Sample = { value: number; labels: LabelValues };

/**
 * The current samples of a counter or gauge, read synchronously from prom-client's own store, so
 * `/status` (synchronous) reports exactly what `/metrics` exports, with no second count beside it.
 * prom-client's public `get()` is async; its store (`hashMap`, prom-client 15) is what `get()`
 * returns as `values`. test/ops/metrics.test.ts checks the two agree, so an upgrade that changes
 * the store fails there rather than silently reporting zeros.
 */
export function samples(metric: Counter<string> | Gauge<string>): Sample[] {
  const store = (metric as unknown as { hashMap?: Record<string, Sample> }).hashMap;
  return store ? Object.values(store) : [];
}

/** Sum over every label set (the value of a metric without labels). */
export function total(metric: Counter<string> | Gauge<string>): number {
  return samples(metric).reduce((sum, s) => sum + s.value, 0);
}

/** Values by one label, summed over the other labels; label values never seen are absent. */
export function byLabel(metric: Counter<string> | Gauge<string>, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples(metric)) {
    const key = s.labels[label];
    if (key === undefined) continue;
    out[String(key)] = (out[String(key)] ?? 0) + s.value;
  }
  return out;
}
