import type { CdrLeg, CdrPage } from '../api/types.js';

/**
 * Which CDR legs have been counted, so that each call is counted exactly once.
 *
 * Rows are read by id cursor. The PBX writes a call's legs one by one after all its channels
 * hung up, so the newest call read may still be incomplete; its legs wait in `pending` (in
 * memory, never re-read) until the call is known complete:
 *  - on a page with more to come, every pending call but the one owning the page's last leg
 *    and any call whose legs interleave with it (two calls written at once: either may go on);
 *  - when caught up, those too, once a later run has confirmed that no leg of them arrived
 *    since (it costs them a poll interval of latency).
 * The call being written when counting starts is not counted: its earlier legs came before the
 * start, so counting its later ones as a call would count a fragment.
 * Legs of an already counted call that still turn up later go to `onLate` (legs and talk time
 * stay exact; the call is not counted again) thanks to a bounded memory of recent linkedids.
 *
 * Each page is applied synchronously and whole, so a failed request leaves everything as it was
 * after the last applied page.
 */
export class CdrTracker<M> {
  /** Every leg with id ≤ cursor has been read; null until the start-up newest id is known. */
  cursor: number | null = null;
  private readonly pending = new Map<string, { legs: CdrLeg[]; changedRun: number }>();
  private readonly recent: RecentCalls<M>;
  private tail: string | null = null;
  /** The call owning the newest leg at start: its later legs belong to an uncounted call. */
  private startCall: string | null = null;
  private run = 0;

  constructor(opts: { recentMax: number; recentMaxAgeMs: number; now: () => number }) {
    this.recent = new RecentCalls(opts.recentMax, opts.recentMaxAgeMs, opts.now);
  }

  /**
   * Counting starts after this id (the newest at exporter start): nothing before it is counted,
   * nor the rest of the call that owns it.
   */
  start(newestId: number, newestLinkedid: string | null = null): void {
    this.cursor = newestId;
    this.startCall = newestLinkedid;
  }

  /** Counting restarts after this id, dropping legs still waiting (the PBX table was replaced). */
  restart(newestId: number, newestLinkedid: string | null = null): void {
    this.start(newestId, newestLinkedid);
    this.pending.clear();
    this.tail = null;
  }

  beginRun(): void {
    this.run += 1;
  }

  /** Legs waiting for the rest of their call. */
  get pendingLegs(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.legs.length;
    return n;
  }

  get recentCalls(): number {
    return this.recent.size;
  }

  /**
   * Applies one page: `onCall` counts a complete call (and returns what to remember about it),
   * `onLate` a leg whose call was already counted.
   */
  applyPage(page: CdrPage, onCall: (legs: CdrLeg[]) => M, onLate: (leg: CdrLeg, call: M) => void): void {
    if (this.cursor === null) throw new Error('CdrTracker.start() first');
    for (const leg of page.legs) {
      if (leg.id <= this.cursor) continue; // parse already rejects this; never count a leg twice
      this.cursor = leg.id;
      if (leg.linkedid === this.startCall) continue;
      this.tail = leg.linkedid;
      const counted = this.recent.get(leg.linkedid);
      if (counted !== undefined) {
        onLate(leg, counted);
        continue;
      }
      const p = this.pending.get(leg.linkedid);
      if (p) {
        p.legs.push(leg);
        p.changedRun = this.run;
      } else {
        this.pending.set(leg.linkedid, { legs: [leg], changedRun: this.run });
      }
    }
    const open = this.openCalls();
    for (const [linkedid, p] of this.pending) {
      if (open.has(linkedid) && (page.hasMore || p.changedRun === this.run)) continue;
      this.pending.delete(linkedid);
      this.recent.add(linkedid, onCall(p.legs));
    }
  }

  /**
   * Pending calls that may still be being written: the owner of the newest leg, and every call
   * whose id range overlaps theirs (legs of calls written at the same time interleave).
   */
  private openCalls(): Set<string> {
    const open = new Set<string>();
    const tail = this.tail === null ? undefined : this.pending.get(this.tail);
    if (this.tail === null || tail === undefined) return open;
    open.add(this.tail);
    let low = tail.legs[0]?.id ?? Infinity;
    const byLastDesc = [...this.pending].sort((a, b) => lastId(b[1].legs) - lastId(a[1].legs));
    for (const [linkedid, p] of byLastDesc) {
      if (lastId(p.legs) < low) break;
      open.add(linkedid);
      low = Math.min(low, p.legs[0]?.id ?? low);
    }
    return open;
  }
}

function lastId(legs: readonly CdrLeg[]): number {
  return legs.at(-1)?.id ?? 0;
}

/**
 * Linkedids counted recently, bounded by count and age. Ages are kept in a queue beside the map:
 * evicting the oldest from the front of a Map would walk over every entry deleted before it
 * (deleted Map slots stay until the table is rebuilt), which at tens of calls a second made each
 * add cost thousands of steps.
 */
class RecentCalls<M> {
  private readonly map = new Map<string, { at: number; value: M }>();
  private readonly queue: { linkedid: string; at: number }[] = [];
  private head = 0;

  constructor(
    private readonly max: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(linkedid: string): M | undefined {
    return this.map.get(linkedid)?.value;
  }

  add(linkedid: string, value: M): void {
    const at = this.now();
    this.map.set(linkedid, { at, value });
    this.queue.push({ linkedid, at });
    while (this.head < this.queue.length) {
      const oldest = this.queue[this.head] as { linkedid: string; at: number };
      if (this.map.size <= this.max && oldest.at > at - this.maxAgeMs) break;
      this.head += 1;
      // A linkedid added again later has a newer queue entry: only its newest one evicts it.
      if (this.map.get(oldest.linkedid)?.at === oldest.at) this.map.delete(oldest.linkedid);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
