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

/** What the web server reports about WEB_CONFIG_FILE after each load. */
export interface WebConfigReloadMetrics {
  succeeded(): void;
  failed(): void;
}

/**
 * The outcome of the last load of WEB_CONFIG_FILE, as blackbox_exporter's config_last_reload_*
 * gauges: a broken edit is only logged and the old settings stay, so without this it would go
 * unnoticed until the next restart fails.
 */
export function webConfigReloadMetrics(registry: Registry, now: () => number = Date.now): WebConfigReloadMetrics {
  const registers = [registry];
  const ok = new Gauge({
    name: 'mikopbx_exporter_web_config_last_reload_successful',
    help: '1 if the last load of WEB_CONFIG_FILE succeeded, else 0 (the previous settings stay in force).',
    registers,
  });
  const at = new Gauge({
    name: 'mikopbx_exporter_web_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful load of WEB_CONFIG_FILE.',
    registers,
  });
  return {
    succeeded() {
      ok.set(1);
      at.set(now() / 1000);
    },
    failed() {
      ok.set(0);
    },
  };
}
