import type { Registry } from 'prom-client';
import type { AmiClient } from '../api/ami/index.js';
import type { PbxApi } from '../api/pbx-api.js';
import { AsteriskCollector } from './asterisk.js';
import { CallsCollector } from './calls.js';
import { CdrCollector } from './cdr.js';
import type { Collector } from './collector.js';
import { PeersCollector } from './peers.js';
import { ProvidersCollector } from './providers.js';
import { QueuesCollector, type QueueNamesSource } from './queues.js';
import { SystemCollector } from './system.js';

/** What a collector is built from: the target's registry, settings and request budget. */
export interface CollectorDeps {
  registry: Registry;
  intervalSeconds: number;
  peerDetails: boolean;
  /** Requests left in this 60 s window, and how many a cdr backlog must leave to the status polls. */
  budgetRemaining: () => number;
  budgetReserve: () => number;
  now: () => number;
  /** The PBX's AMI session; null when no AMI user is configured. */
  ami: AmiClient | null;
  /** Queue names from REST (v3; empty on legacy). */
  queueNames: QueueNamesSource;
  queueMemberDetails: boolean;
  /** The PBX's UTC offset, once known (for the PBX-local times AMI gives). */
  utcOffsetMinutes: () => number | null;
}

/** A collector that exists on v3 only: on legacy it is not run, not exported, and said so once. */
export interface V3Only {
  /** Whether the adapter of the detected generation serves what the collector reads. */
  available: (api: PbxApi) => boolean;
  started: string;
  notStarted: string;
}

/** The poll schedules: the shared status poll, and one per collector that runs alone. */
export type ScheduleName = 'status' | 'cdr' | 'system' | 'queues' | 'asterisk';

export interface CollectorSpec {
  readonly name: string;
  /**
   * `status`: runs in the shared status poll, at `statusRank` (lower first); otherwise on a
   * schedule of its own, named after the collector.
   */
  readonly schedule: ScheduleName;
  readonly statusRank?: number;
  readonly v3Only?: V3Only;
  /**
   * `ami`: reads the Asterisk Manager Interface, not the REST API: runs only with an AMI user,
   * never waits for the REST API's detection and never decides mikopbx_up.
   */
  readonly source?: 'rest' | 'ami';
  /** null: cannot run with this configuration (an AMI collector without an AMI user). */
  create(deps: CollectorDeps): Collector | null;
}

/**
 * Every collector, in the order of COLLECTORS and the landing page. Adding one is its file plus
 * one entry here; names, poll order, construction and jobs are derived from this table.
 */
export const COLLECTOR_TABLE = [
  // Live channels correct legacy peer states: peers run after calls.
  {
    name: 'peers',
    schedule: 'status',
    statusRank: 2,
    create: (d) => new PeersCollector(d.registry, { intervalSeconds: d.intervalSeconds, details: d.peerDetails }),
  },
  // Trunk ids identify trunk channels: providers run first.
  { name: 'providers', schedule: 'status', statusRank: 0, create: (d) => new ProvidersCollector(d.registry, d.intervalSeconds) },
  { name: 'calls', schedule: 'status', statusRank: 1, create: (d) => new CallsCollector(d.registry, d.intervalSeconds) },
  {
    name: 'cdr',
    schedule: 'cdr',
    v3Only: {
      available: (api) => api.cdr !== undefined,
      started: 'cdr collector started: this PBX has the v3 CDR endpoint',
      notStarted: 'cdr collector not started: the legacy MikoPBX core (≤ 2024.x) has no CDR endpoint; completed-call metrics are not exported',
    },
    create: (d) =>
      new CdrCollector(d.registry, { intervalSeconds: d.intervalSeconds, budgetRemaining: d.budgetRemaining, budgetReserve: d.budgetReserve, now: d.now }),
  },
  {
    name: 'system',
    schedule: 'system',
    v3Only: {
      available: (api) => api.health !== undefined,
      started: 'system collector started: this PBX has the v3 health endpoints',
      notStarted:
        'system collector not started: the legacy MikoPBX core (≤ 2024.x) has no storage, advice, firewall or datetime endpoints in its API; PBX health metrics are not exported',
    },
    create: (d) => new SystemCollector(d.registry, d.intervalSeconds),
  },
  {
    name: 'queues',
    schedule: 'queues',
    source: 'ami',
    create: (d) =>
      d.ami ? new QueuesCollector(d.registry, d.ami, d.queueNames, { intervalSeconds: d.intervalSeconds, memberDetails: d.queueMemberDetails }) : null,
  },
  {
    name: 'asterisk',
    schedule: 'asterisk',
    source: 'ami',
    create: (d) => (d.ami ? new AsteriskCollector(d.registry, d.ami, { intervalSeconds: d.intervalSeconds, utcOffsetMinutes: d.utcOffsetMinutes }) : null),
  },
] as const satisfies readonly CollectorSpec[];

export type CollectorName = (typeof COLLECTOR_TABLE)[number]['name'];
export const COLLECTOR_NAMES: readonly CollectorName[] = COLLECTOR_TABLE.map((c) => c.name);

const byName = new Map<string, CollectorSpec>(COLLECTOR_TABLE.map((c) => [c.name, c]));

export function collectorSpec(name: CollectorName): CollectorSpec {
  return byName.get(name) as CollectorSpec;
}

/** The collectors of the shared status poll, in the order they run. */
export const STATUS_ORDER: readonly CollectorName[] = COLLECTOR_TABLE.filter(
  (c): c is Extract<(typeof COLLECTOR_TABLE)[number], { schedule: 'status' }> => c.schedule === 'status',
)
  .sort((a, b) => a.statusRank - b.statusRank)
  .map((c) => c.name);

/** The collectors that run on a schedule of their own (one job each). */
export const OWN_SCHEDULE: readonly (CollectorName & ScheduleName)[] = COLLECTOR_TABLE.filter((c) => c.schedule !== 'status').map(
  (c) => c.name as CollectorName & ScheduleName,
);

/** The collectors that read AMI. */
export const AMI_COLLECTORS: readonly CollectorName[] = COLLECTOR_TABLE.filter((c) => 'source' in c && c.source === 'ami').map((c) => c.name);

/** The schedule a collector runs on. */
export function scheduleOf(name: CollectorName): ScheduleName {
  return collectorSpec(name).schedule;
}
