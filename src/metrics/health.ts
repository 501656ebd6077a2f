import { Counter, Gauge, type Registry } from 'prom-client';
import { BACKOFF_REASONS } from '../api/backoff.js';
import { COLLECTOR_NAMES } from '../config.js';

export interface HealthOptions {
  pollIntervalSeconds: number;
  cdrPollIntervalSeconds: number;
  /** Which poll sets mikopbx_up: the status poll, or the cdr poll when no status collector runs. */
  upFrom: 'status' | 'cdr';
}

/**
 * Exporter-side health of one PBX target: is the API answering, how did each collector do.
 * HELP texts say when each value changes (contract §3: how often values are refreshed).
 */
export class HealthMetrics {
  readonly up: Gauge;
  readonly collectorSuccess: Gauge<'collector'>;
  readonly collectorDuration: Gauge<'collector'>;
  readonly collectorLastSuccess: Gauge<'collector'>;
  readonly apiRequests: Counter<'endpoint' | 'code'>;
  readonly apiInfo: Gauge<'api'>;
  readonly backoffUntil: Gauge<'reason'>;
  readonly requestBudgetRemaining: Gauge;

  constructor(registry: Registry, opts: HealthOptions) {
    const registers = [registry];
    const { pollIntervalSeconds: status, cdrPollIntervalSeconds: cdr } = opts;
    // Collectors run on two schedules; a HELP text cannot vary by label, so it names both.
    const runs = `refreshed after every run of the collector (peers, providers and calls every ${status} seconds, cdr every ${cdr} seconds)`;
    this.up = new Gauge({
      name: 'mikopbx_up',
      help:
        opts.upFrom === 'status'
          ? `1 if the most recent status poll got a valid answer from the MikoPBX API, else 0; refreshed every ${status} seconds.`
          : `1 if the most recent cdr poll got a valid answer from the MikoPBX API (no status collector is enabled), else 0; refreshed every ${cdr} seconds.`,
      registers,
    });
    this.collectorSuccess = new Gauge({
      name: 'mikopbx_collector_success',
      help: `1 if the collector's last run succeeded, else 0; ${runs}.`,
      labelNames: ['collector'],
      registers,
    });
    this.collectorDuration = new Gauge({
      name: 'mikopbx_collector_duration_seconds',
      help: `How long the collector's last run took, in seconds; ${runs}.`,
      labelNames: ['collector'],
      registers,
    });
    this.collectorLastSuccess = new Gauge({
      name: 'mikopbx_collector_last_success_timestamp_seconds',
      help: `Unix time of the collector's last successful run; ${runs}.`,
      labelNames: ['collector'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'mikopbx_api_requests_total',
      help: `Requests sent to the MikoPBX API, by endpoint path and HTTP status (or "error" for timeouts and network failures); refreshed after every poll (status every ${status} seconds, cdr every ${cdr} seconds).`,
      labelNames: ['endpoint', 'code'],
      registers,
    });
    this.apiInfo = new Gauge({
      name: 'mikopbx_api_info',
      help: 'The MikoPBX API generation in use (v3 or legacy); always 1; refreshed when the generation is detected: at the first poll and again after the PBX was unreachable.',
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
