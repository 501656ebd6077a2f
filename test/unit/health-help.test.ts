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

  it('with an AMI user: the AMI session gauges say their refresh, and the collector texts name the AMI schedules', async () => {
    const registry = new Registry();
    new HealthMetrics(registry, {
      pollIntervalSeconds: 20,
      systemPollIntervalSeconds: 300,
      cdrPollIntervalSeconds: 60,
      upFrom: 'status',
      amiIntervalSeconds: 20,
    });
    const help = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m.help]));
    for (const name of ['mikopbx_ami_up', 'mikopbx_ami_backoff_until_timestamp_seconds', 'mikopbx_ami_login_refused']) {
      expect(help.get(name), name).toMatch(/refreshed (after every poll, )?every 20 seconds/);
    }
    expect(help.get('mikopbx_collector_success')).toMatch(/queues and asterisk every 20 seconds/);
  });
});
