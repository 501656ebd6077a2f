import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HealthMetrics } from '../../src/metrics/health.js';

// Contract §3: HELP texts say how often values are refreshed.

describe('health metric HELP texts', () => {
  it('say when each value is refreshed, with the configured intervals', async () => {
    const registry = new Registry();
    new HealthMetrics(registry, { pollIntervalSeconds: 15, systemPollIntervalSeconds: 300, cdrPollIntervalSeconds: 120, upFrom: 'status' });
    const help = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m.help]));
    expect(help.get('mikopbx_up')).toMatch(/refreshed every 15 seconds/);
    for (const name of [
      'mikopbx_collector_success',
      'mikopbx_collector_duration_seconds',
      'mikopbx_collector_last_success_timestamp_seconds',
      'mikopbx_api_requests_total',
    ]) {
      expect(help.get(name), name).toMatch(/refreshed after every .*every 15 seconds.*cdr every 120 seconds/);
    }
    expect(help.get('mikopbx_api_info')).toMatch(/refreshed when the generation is detected/);
  });
});
