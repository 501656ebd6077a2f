import type { Registry } from 'prom-client';
import type { QueueSource } from '../api/ami/client.js';
import { DEVICE_STATES, type QueueMemberStatus, type QueueStatus, type QueueSummaryEntry } from '../api/ami/types.js';
import type { QueueConfig } from '../api/v3-queues.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import { CounterFamily, GaugeFamily, type SeriesRow } from '../metrics/series-family.js';
import type { CollectContext, Collector } from './collector.js';
import { ResettingCounters } from './monotonic.js';

export const QUEUE_MEMBER_STATES = ['logged_in', 'available', 'in_call', 'paused', 'unavailable'] as const;
export type QueueMemberState = (typeof QUEUE_MEMBER_STATES)[number];

/** Queue names and extensions as the web UI shows them (REST call-queues). */
export interface QueueNamesSource {
  list(): Promise<QueueConfig[]>;
}

export interface QueuesOptions {
  /** The status poll: QueueSummary every run. */
  intervalSeconds: number;
  /** QueueStatus (counters, service level, member states): at most this often (default 60; never more often than a run). */
  statusIntervalSeconds?: number;
  /** REST call-queues (names for mikopbx_queue_info): this often (default 600), also after a failure. */
  namesIntervalSeconds?: number;
  /** Per-member series (like PEER_DETAILS); off keeps the per-queue ones only. */
  memberDetails: boolean;
}

interface Intervals {
  poll: number;
  status: number;
  names: number;
}

/** What the last successful QueueStatus said, per queue, for the runs until the next one. */
interface StatusView {
  strategy: Map<string, string>;
  /** in_call, paused, unavailable counted from the QueueMember events */
  memberCounts: Map<string, Record<'in_call' | 'paused' | 'unavailable', number>>;
}

const KEY_SEP = '\u0000';

/**
 * Call queues over AMI: QueueSummary every run (callers, longest wait, members logged in and
 * available, Asterisk's hold and talk time averages); QueueStatus less often (calls completed and
 * abandoned as real counters across Asterisk's resets, service level, member states); queue names
 * from REST now and then, without which mikopbx_queue_info still names every queue, with "".
 * Everything is fetched before anything changes; a queue that is gone loses its series at the
 * next successful run, and a failed run leaves the values it could not refresh.
 */
export class QueuesCollector implements Collector {
  readonly name = 'queues' as const;
  private readonly help: IntervalHelp<Intervals>;
  private readonly callers: GaugeFamily;
  private readonly longestWait: GaugeFamily;
  private readonly members: GaugeFamily;
  private readonly holdTime: GaugeFamily;
  private readonly talkTime: GaugeFamily;
  private readonly completed: CounterFamily;
  private readonly abandoned: CounterFamily;
  private readonly serviceLevel: GaugeFamily;
  private readonly info: GaugeFamily;
  private readonly details: { state: GaugeFamily; paused: GaugeFamily; callsTaken: CounterFamily } | null = null;
  private readonly completedCounts = new ResettingCounters();
  private readonly abandonedCounts = new ResettingCounters();
  private readonly callsTakenCounts = new ResettingCounters();
  /** Completed and abandoned of each queue at the last QueueStatus, to see a reset of its statistics. */
  private lastStats = new Map<string, readonly [number, number]>();
  /** queue + member of the members at the last QueueStatus */
  private memberKeys = new Set<string>();
  /** The QueueStatus-derived gauge rows, kept to drop a gone queue's rows between QueueStatus runs. */
  private statusRows: { serviceLevel: SeriesRow[]; states: SeriesRow[]; paused: SeriesRow[] } = { serviceLevel: [], states: [], paused: [] };
  private status: StatusView | null = null;
  private statusAt = -Infinity;
  private names = new Map<string, QueueConfig>();
  private namesAt = -Infinity;
  private namesFailedLogged = false;
  private intervals: Intervals;

  constructor(
    registry: Registry,
    private readonly ami: QueueSource,
    private readonly restNames: QueueNamesSource | null,
    private readonly opts: QueuesOptions,
  ) {
    this.intervals = this.intervalsFor(opts.intervalSeconds);
    const help = (this.help = IntervalHelp.of(registry, this.intervals));
    const registers = [registry];
    const poll = (i: Intervals) => `From AMI QueueSummary, refreshed every ${i.poll} seconds.`;
    const status = (i: Intervals) => `From AMI QueueStatus, refreshed every ${i.status} seconds.`;
    const gauge = (name: string, labels: string[], text: (i: Intervals) => string) => new GaugeFamily(name, help.text(name, text), labels, registers);
    const counter = (name: string, labels: string[], text: (i: Intervals) => string) => new CounterFamily(name, help.text(name, text), labels, registers);
    this.callers = gauge('mikopbx_queue_callers', ['queue'], (i) => `Callers waiting in the call queue now. ${poll(i)}`);
    this.longestWait = gauge(
      'mikopbx_queue_longest_wait_seconds',
      ['queue'],
      (i) => `How long the caller waiting longest in the queue has waited, in seconds (0 with nobody waiting). ${poll(i)}`,
    );
    this.members = gauge(
      'mikopbx_queue_members',
      ['queue', 'state'],
      (i) =>
        `Queue members by state: logged_in (device neither unavailable nor invalid, paused ones included) and available (logged in, idle, not paused) from AMI QueueSummary every ${i.poll} seconds; in_call (on a queue call), paused and unavailable (device unavailable or invalid) counted from the QueueStatus member list every ${i.status} seconds.`,
    );
    this.holdTime = gauge(
      'mikopbx_queue_hold_time_seconds',
      ['queue'],
      (i) =>
        `Asterisk's running average of the time callers waited before being answered, in seconds (each answered call weighs a quarter: (3 × old + new) / 4; 0 after a reset). ${poll(i)}`,
    );
    this.talkTime = gauge(
      'mikopbx_queue_talk_time_seconds',
      ['queue'],
      (i) => `Asterisk's running average of the talk time of completed queue calls, in seconds (each call weighs a quarter; 0 after a reset). ${poll(i)}`,
    );
    this.completed = counter(
      'mikopbx_queue_calls_completed_total',
      ['queue'],
      (i) =>
        `Queue calls answered and ended. Asterisk counts since its start or the last reset of the queue statistics; this counter stays monotonic across those resets (a lower value counts as a reset). ${status(i)}`,
    );
    this.abandoned = counter(
      'mikopbx_queue_calls_abandoned_total',
      ['queue'],
      (i) => `Callers who hung up while waiting in the queue; monotonic across Asterisk's resets like mikopbx_queue_calls_completed_total. ${status(i)}`,
    );
    this.serviceLevel = gauge(
      'mikopbx_queue_service_level_ratio',
      ['queue'],
      (i) =>
        `Share (0..1) of the queue's completed calls that were answered within its service level (Asterisk's ServicelevelPerf), since the last reset of the queue statistics; 0 while none completed. ${status(i)}`,
    );
    this.info = gauge(
      'mikopbx_queue_info',
      ['queue', 'name', 'extension', 'strategy'],
      (i) =>
        `Call queue metadata; always 1. queue is the Asterisk queue name (MikoPBX's uniqid), name and extension come from the PBX's REST call-queues (refreshed every ${i.names} seconds; "" while unknown), strategy from AMI QueueStatus. The set of queues is refreshed every ${i.poll} seconds.`,
    );
    if (opts.memberDetails) {
      this.details = {
        state: gauge(
          'mikopbx_queue_member_state',
          ['queue', 'member', 'state'],
          (i) => `1 for the queue member's current Asterisk device state, 0 for the others; member is the member name (the extension on MikoPBX). ${status(i)}`,
        ),
        paused: gauge('mikopbx_queue_member_paused', ['queue', 'member'], (i) => `1 if the queue member is paused, else 0. ${status(i)}`),
        callsTaken: counter(
          'mikopbx_queue_member_calls_taken_total',
          ['queue', 'member'],
          (i) => `Queue calls the member answered and ended; monotonic across Asterisk's resets of the queue statistics. ${status(i)}`,
        ),
      };
    }
  }

  setIntervalSeconds(seconds: number): void {
    this.intervals = this.intervalsFor(seconds);
    this.help.set(this.intervals);
  }

  private intervalsFor(poll: number): Intervals {
    return { poll, status: Math.max(poll, this.opts.statusIntervalSeconds ?? 60), names: Math.max(poll, this.opts.namesIntervalSeconds ?? 600) };
  }

  async collect(ctx: CollectContext): Promise<void> {
    const now = ctx.now();
    const summary = await this.ami.queueSummary();
    // A queue the last QueueStatus did not list (new since) makes it due now: its member states would be missing.
    const halfPoll = (this.intervals.poll * 1000) / 2;
    const statusDue = now - this.statusAt >= this.intervals.status * 1000 - halfPoll || summary.some((q) => !this.status?.strategy.has(q.queue));
    let status: QueueStatus | null = null;
    let statusError: unknown = null;
    if (statusDue) {
      try {
        status = await this.ami.queueStatus();
      } catch (e) {
        statusError = e;
      }
    }
    let names: QueueConfig[] | null = null;
    if (this.restNames && now - this.namesAt >= this.intervals.names * 1000 - halfPoll) {
      this.namesAt = now;
      try {
        names = await this.restNames.list();
        this.namesFailedLogged = false;
      } catch (e) {
        // Names are a nicety: the queues are exported without them, and the next try is an interval away.
        const log = this.namesFailedLogged ? ctx.log.debug.bind(ctx.log) : ctx.log.warn.bind(ctx.log);
        log(
          { collector: this.name, err: e },
          `queues collector: queue names from REST call-queues failed (${e instanceof Error ? e.message : String(e)}); mikopbx_queue_info keeps the names it had (or ""), next try in ${this.intervals.names} s`,
        );
        this.namesFailedLogged = true;
      }
    }

    // Everything is in hand: replace the series, synchronously.
    if (names) this.names = new Map(names.map((n) => [n.queue, n]));
    const present = new Set(summary.map((q) => q.queue));
    if (status) {
      this.applyStatus(status, present);
      this.statusAt = now;
    } else {
      this.dropGoneQueues(present);
    }
    this.applySummary(summary);
    if (statusError !== null) throw statusError;
  }

  private applySummary(summary: readonly QueueSummaryEntry[]): void {
    const seen = new Set<string>();
    const callers: SeriesRow[] = [];
    const longest: SeriesRow[] = [];
    const members: SeriesRow[] = [];
    const hold: SeriesRow[] = [];
    const talk: SeriesRow[] = [];
    const info: SeriesRow[] = [];
    for (const q of summary) {
      if (seen.has(q.queue)) continue;
      seen.add(q.queue);
      const queue = [q.queue];
      callers.push([queue, q.callers]);
      longest.push([queue, q.longestHoldTime]);
      hold.push([queue, q.holdTime]);
      talk.push([queue, q.talkTime]);
      members.push([[q.queue, 'logged_in'], q.loggedIn], [[q.queue, 'available'], q.available]);
      const counted = this.status?.memberCounts.get(q.queue);
      if (counted)
        members.push([[q.queue, 'in_call'], counted.in_call], [[q.queue, 'paused'], counted.paused], [[q.queue, 'unavailable'], counted.unavailable]);
      const named = this.names.get(q.queue);
      info.push([[q.queue, named?.name ?? '', named?.extension ?? '', this.status?.strategy.get(q.queue) ?? named?.strategy ?? ''], 1]);
    }
    this.callers.replace(callers);
    this.longestWait.replace(longest);
    this.members.replace(members);
    this.holdTime.replace(hold);
    this.talkTime.replace(talk);
    this.info.replace(info);
  }

  private applyStatus(status: QueueStatus, present: ReadonlySet<string>): void {
    const strategy = new Map<string, string>();
    const memberCounts: StatusView['memberCounts'] = new Map();
    const serviceLevel: SeriesRow[] = [];
    const queues = new Set<string>();
    const reset = new Set<string>();
    const stats = new Map<string, readonly [number, number]>();
    for (const p of status.queues) {
      if (!present.has(p.queue) || queues.has(p.queue)) continue;
      queues.add(p.queue);
      strategy.set(p.queue, p.strategy);
      memberCounts.set(p.queue, { in_call: 0, paused: 0, unavailable: 0 });
      // clear_queue() (QueueReset, a restart) zeroes both counters and every member's calls at once:
      // either one going back means all of them started again.
      const last = this.lastStats.get(p.queue);
      if (last && (p.completed < last[0] || p.abandoned < last[1])) reset.add(p.queue);
      stats.set(p.queue, [p.completed, p.abandoned]);
      this.completed.inc([p.queue], this.completedCounts.observe(p.queue, p.completed, reset.has(p.queue)));
      this.abandoned.inc([p.queue], this.abandonedCounts.observe(p.queue, p.abandoned, reset.has(p.queue)));
      serviceLevel.push([[p.queue], Math.round(p.serviceLevelPerf * 10) / 1000]);
    }
    this.lastStats = stats;
    this.forgetQueues(queues);

    const states: SeriesRow[] = [];
    const paused: SeriesRow[] = [];
    const memberKeys = new Set<string>();
    for (const m of status.members) {
      const counts = memberCounts.get(m.queue);
      if (!counts) continue; // a member of a queue QueueParams did not list, or that is gone
      const member = memberLabel(m);
      const key = `${m.queue}${KEY_SEP}${member}`;
      if (memberKeys.has(key)) continue;
      memberKeys.add(key);
      if (m.inCall) counts.in_call++;
      if (m.paused) counts.paused++;
      if (m.status === 'unavailable' || m.status === 'invalid') counts.unavailable++;
      if (this.details) {
        for (const s of DEVICE_STATES) states.push([[m.queue, member, s], s === m.status ? 1 : 0]);
        paused.push([[m.queue, member], m.paused ? 1 : 0]);
        this.details.callsTaken.inc([m.queue, member], this.callsTakenCounts.observe(key, m.callsTaken, reset.has(m.queue)));
      }
    }
    this.forgetMembers(memberKeys);
    this.statusRows = { serviceLevel, states, paused };
    this.serviceLevel.replace(serviceLevel);
    this.details?.state.replace(states);
    this.details?.paused.replace(paused);
    this.status = { strategy, memberCounts };
  }

  /** Between two QueueStatus runs: removes the QueueStatus-derived series of queues QueueSummary no longer lists. */
  private dropGoneQueues(present: ReadonlySet<string>): void {
    const keep = (rows: SeriesRow[]) => rows.filter(([labels]) => present.has(labels[0] as string));
    this.forgetQueues(new Set([...this.lastStats.keys()].filter((q) => present.has(q))));
    for (const q of [...this.lastStats.keys()]) if (!present.has(q)) this.lastStats.delete(q);
    this.forgetMembers(new Set([...this.memberKeys].filter((k) => present.has(k.split(KEY_SEP)[0] as string))));
    if (this.status) {
      for (const q of [...this.status.strategy.keys()]) {
        if (present.has(q)) continue;
        this.status.strategy.delete(q);
        this.status.memberCounts.delete(q);
      }
    }
    this.statusRows = { serviceLevel: keep(this.statusRows.serviceLevel), states: keep(this.statusRows.states), paused: keep(this.statusRows.paused) };
    this.serviceLevel.replace(this.statusRows.serviceLevel);
    this.details?.state.replace(this.statusRows.states);
    this.details?.paused.replace(this.statusRows.paused);
  }

  /** Removes the counter series (and their reset tracking) of every queue not in `keep`. */
  private forgetQueues(keep: ReadonlySet<string>): void {
    for (const q of this.completedCounts.retain(keep)) this.completed.remove([q]);
    for (const q of this.abandonedCounts.retain(keep)) this.abandoned.remove([q]);
  }

  private forgetMembers(keep: ReadonlySet<string>): void {
    this.memberKeys = new Set(keep);
    if (!this.details) return;
    for (const key of this.callsTakenCounts.retain(keep)) this.details.callsTaken.remove(key.split(KEY_SEP));
  }
}

/** Members are named by MemberName (the extension on MikoPBX), else by the interface they are called on. */
function memberLabel(m: QueueMemberStatus): string {
  return m.name !== '' ? m.name : m.location;
}
