import type { Registry } from 'prom-client';
import { LabelledCounter, LabelledGauge } from './labelled.js';
import { BACKOFF_REASONS } from '../api/backoff.js';
import { COLLECTOR_NAMES, scheduleOf, type CollectorName } from '../collectors/table.js';
import { IntervalHelp } from './interval-help.js';

/** The effective intervals of the schedules, in seconds. */
export interface PollIntervals {
  status: number;
  cdr: number;
  system: number;
  /** The AMI collectors (run at the status interval; they do not spend the REST budget). */
  queues: number;
  asterisk: number;
}

/** Why a collector's run was not sent: nothing the PBX did (so it says nothing about the PBX). */
export const SKIP_REASONS = ['budget', 'shutdown', 'in_flight'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface HealthOptions {
  pollIntervalSeconds: number;
  cdrPollIntervalSeconds: number;
  systemPollIntervalSeconds: number;
  /** Which poll sets mikopbx_up: the status poll, or the cdr poll when no status collector runs. */
  upFrom: 'status' | 'cdr';
  /** A fleet's target: its polls may also wait for a request slot (skip reason in_flight). */
  fleet?: boolean;
  /** An AMI user is configured: the AMI collectors run, and the AMI session's health is exported. */
  amiIntervalSeconds?: number;
}

/**
 * Exporter-side health of one PBX target: is the API answering, how did each collector do.
 * HELP texts say when each value changes (contract §3: how often values are refreshed).
 */
export class HealthMetrics {
  readonly up: LabelledGauge;
  readonly collectorSuccess: LabelledGauge<'collector'>;
  readonly collectorDuration: LabelledGauge<'collector'>;
  readonly collectorLastSuccess: LabelledGauge<'collector'>;
  readonly apiRequests: LabelledCounter<'endpoint' | 'code'>;
  readonly apiInfo: LabelledGauge<'api'>;
  readonly backoffUntil: LabelledGauge<'reason'>;
  readonly requestBudgetRemaining: LabelledGauge;
  readonly collectorInterval: LabelledGauge<'collector'>;
  readonly collectorSkipped: LabelledCounter<'collector' | 'reason'>;
  /** The AMI session (only with an AMI user). */
  readonly ami: { up: LabelledGauge; backoffUntil: LabelledGauge; loginRefused: LabelledGauge } | null = null;
  private readonly help: IntervalHelp<PollIntervals>;
  /** The skip reasons this target can have, shown from the first scrape. */
  private readonly skipReasons: readonly SkipReason[];

  constructor(registry: Registry, opts: HealthOptions) {
    this.skipReasons = opts.fleet ? SKIP_REASONS : SKIP_REASONS.filter((r) => r !== 'in_flight');
    const registers = [registry];
    const ami = opts.amiIntervalSeconds ?? 0;
    const help = (this.help = IntervalHelp.of<PollIntervals>(registry, {
      status: opts.pollIntervalSeconds,
      cdr: opts.cdrPollIntervalSeconds,
      system: opts.systemPollIntervalSeconds,
      queues: ami,
      asterisk: ami,
    }));
    // Collectors run on several schedules; a HELP text cannot vary by label, so it names them all.
    const runs = ({ status, cdr, system, queues }: PollIntervals) =>
      `refreshed after every run of the collector (peers, providers and calls every ${status} seconds, cdr every ${cdr} seconds, system every ${system} seconds${opts.amiIntervalSeconds ? `, queues and asterisk every ${queues} seconds` : ''})`;
    this.up = new LabelledGauge({
      name: 'mikopbx_up',
      help: help.text('mikopbx_up', ({ status, cdr }) =>
        opts.upFrom === 'status'
          ? `1 if the most recent status poll got a valid answer from the MikoPBX API, else 0 (a poll the exporter did not send leaves it as it was); refreshed every ${status} seconds.`
          : `1 if the most recent cdr poll got a valid answer from the MikoPBX API (no status collector is enabled), else 0 (a poll the exporter did not send leaves it as it was); refreshed every ${cdr} seconds.`,
      ),
      registers,
    });
    this.collectorSuccess = new LabelledGauge({
      name: 'mikopbx_collector_success',
      help: help.text(
        'mikopbx_collector_success',
        (i) => `1 if the collector's last run succeeded, else 0 (a run the exporter did not send leaves it as it was); ${runs(i)}.`,
      ),
      labelNames: ['collector'],
      registers,
    });
    this.collectorDuration = new LabelledGauge({
      name: 'mikopbx_collector_duration_seconds',
      help: help.text('mikopbx_collector_duration_seconds', (i) => `How long the collector's last run took, in seconds; ${runs(i)}.`),
      labelNames: ['collector'],
      registers,
    });
    this.collectorLastSuccess = new LabelledGauge({
      name: 'mikopbx_collector_last_success_timestamp_seconds',
      help: help.text('mikopbx_collector_last_success_timestamp_seconds', (i) => `Unix time of the collector's last successful run; ${runs(i)}.`),
      labelNames: ['collector'],
      registers,
    });
    this.apiRequests = new LabelledCounter({
      name: 'mikopbx_api_requests_total',
      help: help.text(
        'mikopbx_api_requests_total',
        ({ status, cdr, system }) =>
          `Requests sent to the MikoPBX API, by endpoint path and HTTP status (or "error" for timeouts and network failures); refreshed after every poll (status every ${status} seconds, cdr every ${cdr} seconds, system every ${system} seconds).`,
      ),
      labelNames: ['endpoint', 'code'],
      registers,
    });
    this.apiInfo = new LabelledGauge({
      name: 'mikopbx_api_info',
      help: 'The MikoPBX API generation in use (v3 or legacy); always 1; refreshed when the generation is detected: at the first poll and again after the PBX was unreachable.',
      labelNames: ['api'],
      registers,
    });
    this.backoffUntil = new LabelledGauge({
      name: 'mikopbx_api_backoff_until_timestamp_seconds',
      help: 'Unix time until which nothing is sent to the PBX, by reason (rate_limited after HTTP 429, overloaded after 503 or worker timeouts, login_refused after a wrong password); 0 when not backing off.',
      labelNames: ['reason'],
      registers,
    });
    this.requestBudgetRemaining = new LabelledGauge({
      name: 'mikopbx_api_request_budget_remaining',
      help: 'Requests that may still be sent to the PBX in the current 60 s window (MIKOPBX_MAX_REQUESTS_PER_MINUTE).',
      registers,
    });
    this.collectorInterval = new LabelledGauge({
      name: 'mikopbx_collector_interval_seconds',
      help: 'Effective interval between runs of the collector, in seconds: the configured one (POLL_INTERVAL_SECONDS, CDR_POLL_INTERVAL_SECONDS, SYSTEM_POLL_INTERVAL_SECONDS), stretched where MIKOPBX_MAX_REQUESTS_PER_MINUTE cannot carry it; changes when the API generation is detected.',
      labelNames: ['collector'],
      registers,
    });
    this.collectorSkipped = new LabelledCounter({
      name: 'mikopbx_collector_skipped_total',
      help: help.text(
        'mikopbx_collector_skipped_total',
        (i) =>
          `Collector runs the exporter did not send, by reason (budget: MIKOPBX_MAX_REQUESTS_PER_MINUTE was spent; shutdown: the exporter was stopping${opts.fleet ? '; in_flight: MAX_REQUESTS_IN_FLIGHT stayed taken by other PBXs for the rest of the poll' : ''}); such runs leave mikopbx_up and mikopbx_collector_success as they were; ${runs(i)}.`,
      ),
      labelNames: ['collector', 'reason'],
      registers,
    });
    if (opts.amiIntervalSeconds) {
      this.ami = {
        up: new LabelledGauge({
          name: 'mikopbx_ami_up',
          help: help.text(
            'mikopbx_ami_up',
            ({ queues }) =>
              `Whether the exporter's AMI session to the PBX is logged in (1) or not (0: connecting, reconnecting after a drop, or paused after a refused login); refreshed after every poll, every ${queues} seconds.`,
          ),
          registers,
        }),
        backoffUntil: new LabelledGauge({
          name: 'mikopbx_ami_backoff_until_timestamp_seconds',
          help: help.text(
            'mikopbx_ami_backoff_until_timestamp_seconds',
            ({ queues }) =>
              `Unix time until which the AMI session sends nothing (a reconnect pause after a drop, or a long pause after a refused login, so that fail2ban's asterisk_ami jail never bans the exporter); 0 when not paused; refreshed every ${queues} seconds.`,
          ),
          registers,
        }),
        loginRefused: new LabelledGauge({
          name: 'mikopbx_ami_login_refused',
          help: help.text(
            'mikopbx_ami_login_refused',
            ({ queues }) =>
              `1 while the PBX refuses the AMI login (MIKOPBX_AMI_USER / MIKOPBX_AMI_PASSWORD wrong, or the user's network filter excludes the exporter), else 0; refreshed every ${queues} seconds.`,
          ),
          registers,
        }),
      };
      this.ami.up.set(0);
      this.ami.backoffUntil.set(0);
      this.ami.loginRefused.set(0);
    }
    this.up.set(0);
    for (const reason of BACKOFF_REASONS) this.backoffUntil.set({ reason }, 0);
  }

  /** Marks every enabled collector as not yet successful so sum() works from the first scrape. */
  initCollectors(enabled: readonly string[]): void {
    for (const name of COLLECTOR_NAMES) {
      if (!enabled.includes(name)) continue;
      this.collectorSuccess.set({ collector: name }, 0);
      for (const reason of this.skipReasons) this.collectorSkipped.inc({ collector: name, reason }, 0);
    }
  }

  /** Drops every series of a collector that does not run on this PBX (cdr on legacy). */
  removeCollector(name: CollectorName): void {
    for (const g of [this.collectorSuccess, this.collectorDuration, this.collectorLastSuccess, this.collectorInterval]) g.remove({ collector: name });
    for (const reason of SKIP_REASONS) this.collectorSkipped.remove({ collector: name, reason });
  }

  /** The effective intervals: HELP texts and mikopbx_collector_interval_seconds say them. */
  setIntervals(intervals: PollIntervals, collectors: readonly CollectorName[]): void {
    this.help.set(intervals);
    for (const name of collectors) this.collectorInterval.set({ collector: name }, intervals[scheduleOf(name)]);
  }
}
