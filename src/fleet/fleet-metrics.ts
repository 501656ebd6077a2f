import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TARGET_STATES, type TargetState } from '../target.js';

/** What the fleet metrics read at scrape time. */
export interface FleetView {
  states(): Map<TargetState, number>;
  pollsInFlight(): number;
  requestsInFlight(): number;
  requestsQueued(): number;
}

/**
 * The exporter's own health in fleet mode, on /metrics (each PBX's metrics are on /probe): how
 * many targets are in which state, how busy the shared limits are, whether polls start on time,
 * and whether the last targets-file reload worked.
 */
export class FleetMetrics {
  readonly registry = new Registry();
  readonly pollLateness: Histogram<'schedule'>;
  readonly pollsOverrun: Counter<'schedule'>;
  readonly slotWait: Histogram;
  readonly reloadSuccess: Gauge;
  readonly reloadTimestamp: Gauge;
  readonly reloads: Counter<'result'>;
  readonly targetsInFile: Gauge;

  constructor(view: FleetView, opts: { shard: { index: number; count: number }; maxRequestsInFlight: number }) {
    const registers = [this.registry];
    new Gauge({
      name: 'mikopbx_exporter_targets',
      help: 'PBX targets this replica polls, by state: pending (no poll has decided yet), up, down (mikopbx_up 0), backing_off (a ban, overload or refused-login pause); read at scrape time.',
      labelNames: ['state'],
      registers,
      collect() {
        const states = view.states();
        for (const state of TARGET_STATES) this.set({ state }, states.get(state) ?? 0);
      },
    });
    this.targetsInFile = new Gauge({
      name: 'mikopbx_exporter_targets_in_file',
      help: 'Targets in the targets file, all shards together (the last file loaded successfully).',
      registers,
    });
    new Gauge({
      name: 'mikopbx_exporter_shard_info',
      help: "This replica's shard (SHARD=index/count): it polls the targets that rendezvous hashing of their names gives to it; always 1.",
      labelNames: ['index', 'count'],
      registers,
    }).set({ index: String(opts.shard.index), count: String(opts.shard.count) }, 1);
    new Gauge({
      name: 'mikopbx_exporter_polls_in_flight',
      help: 'Polls running now, over all targets of this replica; read at scrape time.',
      registers,
      collect() {
        this.set(view.pollsInFlight());
      },
    });
    new Gauge({
      name: 'mikopbx_exporter_requests_in_flight',
      help: 'Requests to PBXs in flight now (at most MAX_REQUESTS_IN_FLIGHT); read at scrape time.',
      registers,
      collect() {
        this.set(view.requestsInFlight());
      },
    });
    new Gauge({
      name: 'mikopbx_exporter_requests_queued',
      help: 'Requests waiting for a free slot under MAX_REQUESTS_IN_FLIGHT now; read at scrape time.',
      registers,
      collect() {
        this.set(view.requestsQueued());
      },
    });
    new Gauge({
      name: 'mikopbx_exporter_max_requests_in_flight',
      help: 'MAX_REQUESTS_IN_FLIGHT: the limit of requests in flight shared by all targets.',
      registers,
    }).set(opts.maxRequestsInFlight);
    this.pollLateness = new Histogram({
      name: 'mikopbx_exporter_poll_lateness_seconds',
      help: 'How long after its due time each poll started, by schedule (status, cdr, system, queues, asterisk): a timer starts each poll at its due millisecond, so this is how long the event loop kept it waiting.',
      labelNames: ['schedule'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.pollsOverrun = new Counter({
      name: 'mikopbx_exporter_polls_overrun_total',
      help: 'Polls not started because the previous poll of the same target and schedule was still running when it was due.',
      labelNames: ['schedule'],
      registers,
    });
    this.slotWait = new Histogram({
      name: 'mikopbx_exporter_request_slot_wait_seconds',
      help: 'How long each request waited for a slot under MAX_REQUESTS_IN_FLIGHT before it was sent.',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.reloadSuccess = new Gauge({
      name: 'mikopbx_exporter_targets_file_last_reload_successful',
      help: '1 if the last load of TARGETS_FILE succeeded, else 0 (the targets of the previous load keep running).',
      registers,
    });
    this.reloadTimestamp = new Gauge({
      name: 'mikopbx_exporter_targets_file_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last successful load of TARGETS_FILE.',
      registers,
    });
    this.reloads = new Counter({
      name: 'mikopbx_exporter_targets_file_reloads_total',
      help: 'Loads of TARGETS_FILE after the start (SIGHUP or a change of its content), by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    for (const schedule of ['status', 'cdr', 'system', 'queues', 'asterisk']) {
      this.pollsOverrun.inc({ schedule }, 0);
    }
    for (const result of ['success', 'failure']) this.reloads.inc({ result }, 0);
  }
}
