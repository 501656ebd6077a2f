import type { Logger } from 'pino';
import type { RequestGateLike } from '../api/transport.js';
import type { Job, Scheduler } from '../scheduler.js';
import { PbxTarget, type TargetOptions, type TargetState } from '../target.js';
import { owns, spreadOffsetMs, type Shard } from './shard.js';
import type { TargetSpec } from './targets-file.js';

/** One PBX of the fleet: what the file said of it, its target, and its jobs in the scheduler. */
export interface FleetMember {
  spec: TargetSpec;
  target: PbxTarget;
  jobs: Job[];
}

export interface FleetChanges {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
  /** Targets of the file that other shards poll. */
  otherShards: number;
}

export interface FleetOptions {
  logger: Logger;
  scheduler: Scheduler;
  gate: RequestGateLike;
  shard: Shard;
  target?: Pick<TargetOptions, 'now' | 'sleep' | 'maxBodyBytes'>;
  /** A member joined (added, or restarted after a change). */
  onJoin?: (member: FleetMember) => void;
  /** A member left (removed or restarted): drop what was derived from it (e.g. its compressed page). */
  onLeave?: (member: FleetMember) => void;
}

/**
 * The PBXs this replica polls: a plain collection of targets, each with its own client, budget,
 * back-off, session and schedule. apply() makes it match a targets file; what did not change
 * keeps its object, so its counters, CDR cursor and session survive a reload.
 */
export class Fleet {
  private readonly members = new Map<string, FleetMember>();

  constructor(private readonly opts: FleetOptions) {}

  get(name: string): FleetMember | undefined {
    return this.members.get(name);
  }

  list(): FleetMember[] {
    return [...this.members.values()];
  }

  get size(): number {
    return this.members.size;
  }

  states(): Map<TargetState, number> {
    const out = new Map<TargetState, number>();
    for (const m of this.members.values()) out.set(m.target.state, (out.get(m.target.state) ?? 0) + 1);
    return out;
  }

  apply(specs: readonly TargetSpec[]): FleetChanges {
    const mine = specs.filter((s) => owns(this.opts.shard, s.name));
    const changes: FleetChanges = { added: [], removed: [], changed: [], unchanged: [], otherShards: specs.length - mine.length };
    const wanted = new Set(mine.map((s) => s.name));
    for (const [name, member] of this.members) {
      if (wanted.has(name)) continue;
      this.leave(member);
      changes.removed.push(name);
    }
    for (const spec of mine) {
      const existing = this.members.get(spec.name);
      if (existing && existing.spec.fingerprint === spec.fingerprint) {
        existing.spec = spec; // labels may have changed: they are not part of the fingerprint
        changes.unchanged.push(spec.name);
        continue;
      }
      if (existing) this.leave(existing);
      this.join(spec);
      (existing ? changes.changed : changes.added).push(spec.name);
    }
    return changes;
  }

  /** Stops every target (shutdown). */
  close(): void {
    for (const member of this.members.values()) this.leave(member);
  }

  private join(spec: TargetSpec): void {
    const target = new PbxTarget({
      ...this.opts.target,
      config: spec.config,
      logger: this.opts.logger.child({ target: spec.name }),
      gate: this.opts.gate,
      compactRender: true,
    });
    // Each schedule of each target gets a stable place in its interval: no thundering herd at :00.
    const jobs = target.jobs().map((job) => {
      const periodMs = target.intervalSeconds(job.name as 'status') * 1000;
      return { ...job, offsetMs: spreadOffsetMs(`${spec.name}\0${job.name}`, periodMs) };
    });
    const member: FleetMember = { spec, target, jobs };
    this.members.set(spec.name, member);
    this.opts.onJoin?.(member);
    void target.render();
    this.opts.scheduler.add(jobs);
  }

  private leave(member: FleetMember): void {
    this.opts.scheduler.remove(member.jobs);
    member.target.close();
    this.members.delete(member.spec.name);
    this.opts.onLeave?.(member);
  }
}
