import { Counter, Gauge, type Registry } from 'prom-client';
import { BACKOFF_REASONS } from '../api/backoff.js';
import { COLLECTOR_NAMES } from '../config.js';

/** Exporter-side health of one PBX target: is the API answering, how did each collector do. */
export class HealthMetrics {
  readonly up: Gauge;
  readonly collectorSuccess: Gauge<'collector'>;
  readonly collectorDuration: Gauge<'collector'>;
  readonly collectorLastSuccess: Gauge<'collector'>;
  readonly apiRequests: Counter<'endpoint' | 'code'>;
  readonly apiInfo: Gauge<'api'>;
  readonly backoffUntil: Gauge<'reason'>;
  readonly requestBudgetRemaining: Gauge;

  constructor(registry: Registry, pollIntervalSeconds: number) {
    const registers = [registry];
    this.up = new Gauge({
      name: 'mikopbx_up',
      help: `1 if the most recent status poll got a valid answer from the MikoPBX API, else 0; refreshed every ${pollIntervalSeconds} seconds.`,
      registers,
    });
    this.collectorSuccess = new Gauge({
      name: 'mikopbx_collector_success',
      help: '1 if the collector\'s last run succeeded, else 0.',
      labelNames: ['collector'],
      registers,
    });
    this.collectorDuration = new Gauge({
      name: 'mikopbx_collector_duration_seconds',
      help: 'How long the collector\'s last run took, in seconds.',
      labelNames: ['collector'],
      registers,
    });
    this.collectorLastSuccess = new Gauge({
      name: 'mikopbx_collector_last_success_timestamp_seconds',
      help: 'Unix time of the collector\'s last successful run.',
      labelNames: ['collector'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'mikopbx_api_requests_total',
      help: 'Requests sent to the MikoPBX API, by endpoint path and HTTP status (or "error" for timeouts and network failures).',
      labelNames: ['endpoint', 'code'],
      registers,
    });
    this.apiInfo = new Gauge({
      name: 'mikopbx_api_info',
      help: 'The MikoPBX API generation in use (v3 or legacy); always 1.',
      labelNames: ['api'],
      registers,
    });
    this.backoffUntil = new Gauge({
      name: 'mikopbx_api_backoff_until_timestamp_seconds',
      help: 'Unix time until which nothing is sent to the PBX, by reason (rate_limited after HTTP 429, overloaded after 503 or worker timeouts, login_refused after a wrong password); 0 when not backing off.',
      labelNames: ['reason'],
      registers,
    });
    this.requestBudgetRemaining = new Gauge({
      name: 'mikopbx_api_request_budget_remaining',
      help: 'Requests that may still be sent to the PBX in the current 60 s window (MIKOPBX_MAX_REQUESTS_PER_MINUTE).',
      registers,
    });
    this.up.set(0);
    for (const reason of BACKOFF_REASONS) this.backoffUntil.set({ reason }, 0);
  }

  /** Marks every enabled collector as not yet successful so sum() works from the first scrape. */
  initCollectors(enabled: readonly string[]): void {
    for (const name of COLLECTOR_NAMES) if (enabled.includes(name)) this.collectorSuccess.set({ collector: name }, 0);
  }
}
