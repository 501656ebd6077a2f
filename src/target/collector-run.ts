import type { Logger } from 'pino';
import type { PbxApi } from '../api/pbx-api.js';
import type { CollectContext, Collector, TargetSnapshot } from '../collectors/collector.js';
import type { CollectorName } from '../collectors/table.js';
import type { HealthMetrics } from '../metrics/health.js';
import type { PollLog } from '../poll-log.js';
import { notSent } from './poll-policy.js';

export interface CollectorResult {
  success: boolean;
  durationSeconds: number;
  /** Unix ms of the end of the run. */
  at: number;
  error?: string;
}

export interface CollectorRunsOptions {
  health: HealthMetrics;
  pollLog: PollLog;
  log: Logger;
  snapshot: TargetSnapshot;
  now: () => number;
  monotonicMs: () => number;
  /** The one-line reason of an error, secrets scrubbed. */
  describe: (e: unknown) => string;
}

/**
 * Runs collectors with timing and success recording (node_exporter's execute()) and keeps each
 * one's last result for the landing page and /readyz.
 */
export class CollectorRuns {
  readonly results = new Map<CollectorName, CollectorResult>();

  constructor(private readonly opts: CollectorRunsOptions) {}

  /** What a collector gets; an AMI collector has no REST adapter, and reading one is a bug. */
  private context(api: PbxApi | null): CollectContext {
    const { snapshot, log, now } = this.opts;
    if (api) return { api, snapshot, log, now };
    return {
      get api(): PbxApi {
        throw new Error('this collector reads AMI: it has no REST API adapter');
      },
      snapshot,
      log,
      now,
    };
  }

  /**
   * Runs one collector and returns its error, or null. A preset error (failed detection, skipped)
   * fails it without a request. A run the exporter did not send (budget, shutdown) is counted as
   * skipped and changes nothing else: its last result, success and duration stand.
   */
  async run(
    name: CollectorName,
    collector: Collector | undefined,
    api: PbxApi | null,
    presetError: unknown,
    opts: { needsApi: boolean } = { needsApi: true },
  ): Promise<unknown> {
    const { health, pollLog, now } = this.opts;
    const start = this.opts.monotonicMs();
    let error: unknown = presetError ?? null;
    if (error === null && collector && (api || !opts.needsApi)) {
      try {
        await collector.collect(this.context(api));
      } catch (e) {
        error = e ?? new Error('collector failed without a reason');
      }
    }
    const durationSeconds = (this.opts.monotonicMs() - start) / 1000;
    const at = now();
    const labels = { collector: name };
    if (notSent(error)) {
      health.collectorSkipped.inc({ collector: name, reason: error.kind });
      pollLog.collector(name, error, durationSeconds);
      return error;
    }
    health.collectorDuration.set(labels, durationSeconds);
    const result: CollectorResult = { success: error === null, durationSeconds, at };
    if (error !== null) {
      result.error = this.opts.describe(error);
      health.collectorSuccess.set(labels, 0);
    } else {
      health.collectorSuccess.set(labels, 1);
      health.collectorLastSuccess.set(labels, at / 1000);
    }
    pollLog.collector(name, error, durationSeconds);
    this.results.set(name, result);
    return error;
  }
}
