// The exporter's metric names and labels, as promised by the contract (shared/contract.md §4).
// Alert rules and dashboard queries are checked against this list, so a typo fails a test.
// `job` and `instance` are added by Prometheus to every series.

export interface ContractMetric {
  type: 'gauge' | 'counter' | 'histogram';
  labels: string[];
  /** Labels whose values are a fixed set. */
  values?: Record<string, string[]>;
}

const PROVIDER_STATES = ['registered', 'unregistered', 'rejected', 'unreachable', 'lagged', 'ok', 'off', 'unknown'];
const DIRECTIONS = ['inbound', 'outbound', 'internal'];
const DISPOSITIONS = ['answered', 'noanswer', 'busy', 'cancel', 'failed', 'other'];
const COLLECTORS = ['peers', 'providers', 'calls', 'cdr', 'system', 'queues', 'asterisk'];
const TARGET_STATES = ['pending', 'up', 'down', 'backing_off'];
const SCHEDULES = ['status', 'cdr', 'system', 'queues', 'asterisk'];
const QUEUE_MEMBER_STATES = ['logged_in', 'available', 'in_call', 'paused', 'unavailable'];

export const CONTRACT_METRICS: Record<string, ContractMetric> = {
  mikopbx_up: { type: 'gauge', labels: [] },
  mikopbx_collector_success: { type: 'gauge', labels: ['collector'], values: { collector: COLLECTORS } },
  mikopbx_collector_duration_seconds: { type: 'gauge', labels: ['collector'], values: { collector: COLLECTORS } },
  mikopbx_collector_last_success_timestamp_seconds: { type: 'gauge', labels: ['collector'], values: { collector: COLLECTORS } },
  mikopbx_api_requests_total: { type: 'counter', labels: ['endpoint', 'code'] },
  mikopbx_api_info: { type: 'gauge', labels: ['api'], values: { api: ['v3', 'legacy'] } },
  mikopbx_exporter_build_info: { type: 'gauge', labels: ['version', 'nodejs_version'] },

  mikopbx_collector_interval_seconds: { type: 'gauge', labels: ['collector'], values: { collector: COLLECTORS } },
  mikopbx_collector_skipped_total: {
    type: 'counter',
    labels: ['collector', 'reason'],
    values: { collector: COLLECTORS, reason: ['budget', 'shutdown', 'in_flight'] },
  },

  // Call queues and Asterisk core over AMI (issue 15).
  mikopbx_ami_up: { type: 'gauge', labels: [] },
  mikopbx_ami_backoff_until_timestamp_seconds: { type: 'gauge', labels: [] },
  mikopbx_ami_login_refused: { type: 'gauge', labels: [] },
  mikopbx_queue_callers: { type: 'gauge', labels: ['queue'] },
  mikopbx_queue_longest_wait_seconds: { type: 'gauge', labels: ['queue'] },
  mikopbx_queue_members: { type: 'gauge', labels: ['queue', 'state'], values: { state: QUEUE_MEMBER_STATES } },
  mikopbx_queue_hold_time_seconds: { type: 'gauge', labels: ['queue'] },
  mikopbx_queue_talk_time_seconds: { type: 'gauge', labels: ['queue'] },
  mikopbx_queue_calls_completed_total: { type: 'counter', labels: ['queue'] },
  mikopbx_queue_calls_abandoned_total: { type: 'counter', labels: ['queue'] },
  mikopbx_queue_service_level_ratio: { type: 'gauge', labels: ['queue'] },
  mikopbx_queue_info: { type: 'gauge', labels: ['queue', 'name', 'extension', 'strategy'] },
  mikopbx_queue_member_state: { type: 'gauge', labels: ['queue', 'member', 'state'] },
  mikopbx_queue_member_paused: { type: 'gauge', labels: ['queue', 'member'] },
  mikopbx_queue_member_calls_taken_total: { type: 'counter', labels: ['queue', 'member'] },
  mikopbx_asterisk_start_time_seconds: { type: 'gauge', labels: [] },
  mikopbx_asterisk_reload_time_seconds: { type: 'gauge', labels: [] },
  mikopbx_asterisk_processed_calls_total: { type: 'counter', labels: [] },
  mikopbx_asterisk_info: { type: 'gauge', labels: ['version'] },

  // PBX health (collector system, issue 14).
  mikopbx_storage_size_bytes: { type: 'gauge', labels: [] },
  mikopbx_storage_used_bytes: { type: 'gauge', labels: [] },
  mikopbx_storage_free_bytes: { type: 'gauge', labels: [] },
  mikopbx_storage_category_bytes: { type: 'gauge', labels: ['category'] },
  mikopbx_storage_s3_enabled: { type: 'gauge', labels: [] },
  mikopbx_storage_s3_bytes: { type: 'gauge', labels: [] },
  mikopbx_advice: { type: 'gauge', labels: ['level', 'template'], values: { level: ['error', 'warning', 'info'] } },
  mikopbx_advice_update_available: { type: 'gauge', labels: [] },
  mikopbx_advice_update_info: { type: 'gauge', labels: ['version'] },
  mikopbx_banned_ips: { type: 'gauge', labels: ['jail'] },
  mikopbx_clock_skew_seconds: { type: 'gauge', labels: [] },

  mikopbx_sip_peers: { type: 'gauge', labels: ['status'], values: { status: ['available', 'unavailable', 'unknown'] } },
  mikopbx_sip_peer_up: { type: 'gauge', labels: ['extension'] },
  mikopbx_sip_peer_info: { type: 'gauge', labels: ['extension', 'name'] },
  mikopbx_sip_peer_rtt_seconds: { type: 'gauge', labels: ['extension'] },
  mikopbx_sip_peer_devices: { type: 'gauge', labels: ['extension'] },

  mikopbx_provider_info: {
    type: 'gauge',
    labels: ['provider', 'name', 'protocol', 'host', 'username'],
    values: { protocol: ['sip', 'iax'] },
  },
  mikopbx_provider_state: { type: 'gauge', labels: ['provider', 'state'], values: { state: PROVIDER_STATES } },
  mikopbx_provider_registered: { type: 'gauge', labels: ['provider'] },
  mikopbx_provider_rtt_seconds: { type: 'gauge', labels: ['provider'] },
  mikopbx_provider_state_since_timestamp_seconds: { type: 'gauge', labels: ['provider'] },
  mikopbx_providers: { type: 'gauge', labels: ['state'], values: { state: PROVIDER_STATES } },

  mikopbx_active_calls: { type: 'gauge', labels: ['direction'], values: { direction: DIRECTIONS } },
  mikopbx_active_channels: { type: 'gauge', labels: [] },
  mikopbx_provider_active_calls: { type: 'gauge', labels: ['provider'] },

  mikopbx_calls_total: {
    type: 'counter',
    labels: ['direction', 'disposition'],
    values: { direction: DIRECTIONS, disposition: DISPOSITIONS },
  },
  mikopbx_provider_calls_total: {
    type: 'counter',
    labels: ['provider', 'direction', 'disposition'],
    values: { direction: ['inbound', 'outbound'], disposition: DISPOSITIONS },
  },
  mikopbx_call_duration_seconds: { type: 'histogram', labels: ['direction'], values: { direction: DIRECTIONS } },
  mikopbx_call_answer_delay_seconds: { type: 'histogram', labels: ['direction'], values: { direction: DIRECTIONS } },
  mikopbx_call_talk_seconds_total: { type: 'counter', labels: ['direction'], values: { direction: DIRECTIONS } },
  mikopbx_cdr_records_total: { type: 'counter', labels: [] },
  mikopbx_cdr_last_record_timestamp_seconds: { type: 'gauge', labels: [] },
};

/** Series Prometheus itself adds for every scrape target. */
export const PROMETHEUS_SERIES: Record<string, ContractMetric> = {
  up: { type: 'gauge', labels: [] },
  scrape_duration_seconds: { type: 'gauge', labels: [] },
};

export const TARGET_LABELS = ['job', 'instance'];

/** Resolves a series name (incl. histogram _bucket/_sum/_count) to its contract entry. */
/**
 * Fleet mode's own health (issue 13), on a replica's /metrics: about the exporter, not a PBX, so
 * not in a PBX's exposition (the sample fixture) nor on the per-PBX dashboard; rules may use them.
 */
export const FLEET_METRICS: Record<string, ContractMetric> = {
  mikopbx_exporter_targets: { type: 'gauge', labels: ['state'], values: { state: TARGET_STATES } },
  mikopbx_exporter_targets_in_file: { type: 'gauge', labels: [] },
  mikopbx_exporter_shard_info: { type: 'gauge', labels: ['index', 'count'] },
  mikopbx_exporter_polls_in_flight: { type: 'gauge', labels: [] },
  mikopbx_exporter_requests_in_flight: { type: 'gauge', labels: [] },
  mikopbx_exporter_requests_queued: { type: 'gauge', labels: [] },
  mikopbx_exporter_max_requests_in_flight: { type: 'gauge', labels: [] },
  mikopbx_exporter_poll_lateness_seconds: { type: 'histogram', labels: ['schedule'], values: { schedule: SCHEDULES } },
  mikopbx_exporter_polls_overrun_total: { type: 'counter', labels: ['schedule'], values: { schedule: SCHEDULES } },
  mikopbx_exporter_request_slot_wait_seconds: { type: 'histogram', labels: [] },
  mikopbx_exporter_targets_file_last_reload_successful: { type: 'gauge', labels: [] },
  mikopbx_exporter_targets_file_last_reload_success_timestamp_seconds: { type: 'gauge', labels: [] },
  mikopbx_exporter_targets_file_reloads_total: { type: 'counter', labels: ['result'], values: { result: ['success', 'failure'] } },
};

export function lookupSeries(name: string): { metric: string; def: ContractMetric; extraLabels: string[] } | undefined {
  const all = { ...CONTRACT_METRICS, ...FLEET_METRICS, ...PROMETHEUS_SERIES };
  const direct = all[name];
  if (direct) return { metric: name, def: direct, extraLabels: [] };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m?.[1] && m[2]) {
    const def = all[m[1]];
    if (def?.type === 'histogram') return { metric: m[1], def, extraLabels: m[2] === 'bucket' ? ['le'] : [] };
  }
  return undefined;
}
