import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { VERSION } from '../version.js';

/** The exporter's own process metrics and build info: rendered on every scrape (they are cheap). */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // These three gauges carry a counter suffix that promtool rejects; the same values are exported
  // without the suffix (nodejs_active_handles etc.), so nothing is lost.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const build = new Gauge({
    name: 'mikopbx_exporter_build_info',
    help: 'Build information of mikopbx-exporter; always 1.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  });
  build.set({ version: VERSION, nodejs_version: process.version }, 1);
  return registry;
}
