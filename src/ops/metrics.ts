import { collectDefaultMetrics, Registry } from 'prom-client';
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
