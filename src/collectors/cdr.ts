import type { Metric, Registry } from 'prom-client';
import { LabelledCounter, LabelledGauge } from '../metrics/labelled.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import { CounterFamily, HistogramFamily } from '../metrics/series-family.js';
import { PbxApiError } from '../api/errors.js';
import { CDR_MAX_PAGE } from '../api/v3-cdr.js';
import type { CdrLeg, Provider } from '../api/types.js';
import { CALL_DIRECTIONS, type CallDirection } from './calls.js';
import { CALL_DISPOSITIONS, legEnd, PROVIDER_CALL_DIRECTIONS, summariseCall } from './cdr-calls.js';
import { CdrTracker } from './cdr-tracker.js';
import { TrunkMatcher } from './channels.js';
import type { CollectContext, Collector } from './collector.js';

/** Seconds from start to answer: rings and queue waits, up to a few minutes. */
export const ANSWER_DELAY_BUCKETS = [1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300];
/** Whole call, from a failed attempt to conference calls of hours. */
export const CALL_DURATION_BUCKETS = [5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 14400];

export interface CdrCollectorOptions {
  intervalSeconds: number;
  /** Requests left in the PBX request budget right now; paging stops at `budgetReserve`. */
  budgetRemaining?: () => number;
  /** Requests kept for the status polls: no further page is read when no more than this remain. */
  budgetReserve?: number | (() => number);
  /** Upper bound of requests per run; a larger backlog is finished in later runs. */
  maxPagesPerRun?: number;
  pageSize?: number;
  /** Bounds of the memory of counted linkedids that guards against late legs. */
  recentMax?: number;
  recentMaxAgeMs?: number;
  now?: () => number;
}

const MIN_PAGE = 50;

/**
 * Completed calls from CDR (contract §4), counted from exporter start. The first run only finds
 * the newest record id; later runs read the legs after it by id cursor, at most a few pages per
 * run, and count each call once its legs are all in (see CdrTracker).
 *
 * Unlike the status collectors, progress is applied page by page: counters only grow, and a run
 * that fails after some pages keeps exactly what those pages counted and resumes after them.
 */
export class CdrCollector implements Collector {
  readonly name = 'cdr' as const;
  private readonly calls: LabelledCounter<'direction' | 'disposition'>;
  private readonly providerCalls: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly answerDelay: HistogramFamily;
  private readonly talk: LabelledCounter<'direction'>;
  private readonly records: LabelledCounter;
  private readonly lastRecord: LabelledGauge;
  private readonly all: Array<[name: string, metric: Metric]>;
  private readonly help: IntervalHelp<number>;
  private readonly tracker: CdrTracker<CallDirection>;
  private readonly opts: Required<Omit<CdrCollectorOptions, 'budgetRemaining'>> & Pick<CdrCollectorOptions, 'budgetRemaining'>;
  private pageSize: number;
  private lastRecordId = 0;
  private legsToFlush = 0;
  private newestLeg: CdrLeg | null = null;
  private knownProviders = new Set<string>();
  private checkCursor = false;
  private registered = true;

  constructor(
    private readonly registry: Registry,
    options: CdrCollectorOptions,
  ) {
    this.opts = {
      budgetReserve: 8,
      maxPagesPerRun: 5,
      pageSize: CDR_MAX_PAGE,
      recentMax: 20_000,
      recentMaxAgeMs: 6 * 3600_000,
      now: Date.now,
      ...options,
    };
    this.pageSize = this.opts.pageSize;
    this.tracker = new CdrTracker({ recentMax: this.opts.recentMax, recentMaxAgeMs: this.opts.recentMaxAgeMs, now: this.opts.now });
    // Its metrics leave the registry on a PBX without a CDR endpoint: HELP texts are found in `all`.
    const help = (this.help = new IntervalHelp(options.intervalSeconds, (name) => this.all.find(([n]) => n === name)?.[1]));
    const every = (s: number) => `Counted from exporter start; refreshed every ${s} seconds.`;
    const registers = [registry];
    this.calls = new LabelledCounter({
      name: 'mikopbx_calls_total',
      help: help.text('mikopbx_calls_total', (s) => `Completed calls (one per linkedid, however many legs) by direction and disposition. ${every(s)}`),
      labelNames: ['direction', 'disposition'],
      registers,
    });
    // One series per trunk, direction and disposition (2,400 at 200 trunks): a family whose bytes
    // are rendered again only after a CDR poll changed it.
    this.providerCalls = new CounterFamily(
      'mikopbx_provider_calls_total',
      help.text(
        'mikopbx_provider_calls_total',
        (s) => `Completed calls through each provider, by direction relative to the provider and disposition. ${every(s)}`,
      ),
      ['provider', 'direction', 'disposition'],
      registers,
    );
    this.duration = new HistogramFamily(
      'mikopbx_call_duration_seconds',
      help.text('mikopbx_call_duration_seconds', (s) => `Duration of completed calls, first leg start to last leg end. ${every(s)}`),
      ['direction'],
      CALL_DURATION_BUCKETS,
      registers,
    );
    this.answerDelay = new HistogramFamily(
      'mikopbx_call_answer_delay_seconds',
      help.text('mikopbx_call_answer_delay_seconds', (s) => `Time from call start to first answer, for answered calls. ${every(s)}`),
      ['direction'],
      ANSWER_DELAY_BUCKETS,
      registers,
    );
    this.talk = new LabelledCounter({
      name: 'mikopbx_call_talk_seconds_total',
      help: help.text('mikopbx_call_talk_seconds_total', (s) => `Talk time of completed calls (sum of the legs' billsec). ${every(s)}`),
      labelNames: ['direction'],
      registers,
    });
    this.records = new LabelledCounter({
      name: 'mikopbx_cdr_records_total',
      help: help.text(
        'mikopbx_cdr_records_total',
        (s) => `CDR legs counted, each exactly once (the start-up read of the newest id counts nothing). ${every(s)}`,
      ),
      registers,
    });
    this.lastRecord = new LabelledGauge({
      name: 'mikopbx_cdr_last_record_timestamp_seconds',
      help: help.text(
        'mikopbx_cdr_last_record_timestamp_seconds',
        (s) => `Unix end time of the newest CDR record counted (absent until one is). Refreshed every ${s} seconds.`,
      ),
      registers,
    });
    this.lastRecord.remove(); // absent until a record is seen, rather than a misleading 1970
    const all = [this.calls, this.providerCalls, this.duration, this.answerDelay, this.talk, this.records, this.lastRecord];
    this.all = all.map((m) => [(m as unknown as { name: string }).name, m as unknown as Metric]);
    for (const direction of CALL_DIRECTIONS) {
      for (const disposition of CALL_DISPOSITIONS) this.calls.inc({ direction, disposition }, 0);
      this.duration.zero([direction]);
      this.answerDelay.zero([direction]);
      this.talk.inc({ direction }, 0);
    }
    this.records.inc(0);
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
  }

  /** Removes (or restores) every series of this collector, for a PBX without a CDR endpoint. */
  setRegistered(on: boolean): void {
    if (on === this.registered) return;
    for (const [name, m] of this.all) {
      if (on) this.registry.registerMetric(m);
      else this.registry.removeSingleMetric(name);
    }
    this.registered = on;
  }

  /**
   * After an outage or a change of API generation the PBX may have been restored or reinstalled,
   * with CDR ids starting lower: the next run asks the newest id once, and starts counting anew
   * if it is below the cursor (otherwise nothing would ever be counted again).
   */
  requestCursorCheck(): void {
    if (this.tracker.cursor !== null) this.checkCursor = true;
  }

  apiRedetected(): void {
    this.requestCursorCheck();
  }

  /** Where counting stands (null until the start-up read succeeded). */
  get cursor(): number | null {
    return this.tracker.cursor;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const source = ctx.api.cdr;
    if (!source) throw new Error(`the ${ctx.api.generation} API has no CDR endpoint`);
    this.syncProviders(ctx.snapshot.providers);
    if (this.tracker.cursor === null) {
      const newest = await source.newest();
      this.tracker.start(newest.id, newest.linkedid);
      ctx.log.info({ collector: 'cdr', afterId: newest.id }, `CDR: counting calls recorded after id ${newest.id} (earlier calls are not counted)`);
      return;
    }
    if (this.checkCursor) {
      const newest = await source.newest();
      this.checkCursor = false;
      if (newest.id < this.tracker.cursor) {
        ctx.log.warn(
          { collector: 'cdr', cursor: this.tracker.cursor, newestId: newest.id },
          `CDR: the PBX's newest record id ${newest.id} is below the last one read (${this.tracker.cursor}); its call history was replaced (backup restored?): counting anew after it`,
        );
        this.tracker.restart(newest.id, newest.linkedid);
        return;
      }
    }
    this.tracker.beginRun();
    const trunks = new TrunkMatcher(ctx.snapshot.providers);
    for (let pages = 1; ; pages++) {
      const afterId = this.tracker.cursor;
      let page;
      try {
        page = await source.page({ afterId, limit: this.pageSize });
      } catch (e) {
        // A page too big to serve in time would fail forever: ask for smaller ones.
        if (e instanceof PbxApiError && e.kind === 'timeout') this.pageSize = Math.max(MIN_PAGE, Math.floor(this.pageSize / 2));
        throw e;
      }
      this.pageSize = Math.min(this.opts.pageSize, this.pageSize * 2);
      this.tracker.applyPage(
        page,
        (legs) => this.countCall(legs, trunks),
        (leg, direction) => this.countLateLeg(leg, direction),
      );
      this.flushLegs();
      if (!page.hasMore) break;
      const remaining = this.opts.budgetRemaining?.() ?? Infinity;
      const reserve = typeof this.opts.budgetReserve === 'function' ? this.opts.budgetReserve() : this.opts.budgetReserve;
      if (pages >= this.opts.maxPagesPerRun || remaining <= reserve) {
        ctx.log.debug({ collector: 'cdr', pages, cursor: this.tracker.cursor, budgetRemaining: remaining }, 'CDR backlog: continuing next run');
        break;
      }
    }
  }

  private countCall(legs: CdrLeg[], trunks: TrunkMatcher): CallDirection {
    const call = summariseCall(legs, trunks);
    const { direction, disposition } = call;
    this.calls.inc({ direction, disposition });
    for (const [provider, dir] of call.providers) {
      // A trunk known only from its channel name (no providers snapshot yet) gets its full label set too.
      if (!this.knownProviders.has(provider)) this.addProvider(provider);
      this.providerCalls.inc([provider, dir, disposition]);
    }
    this.duration.observe([direction], call.durationSeconds);
    if (call.answerDelaySeconds !== null) this.answerDelay.observe([direction], call.answerDelaySeconds);
    this.talk.inc({ direction }, call.talkSeconds);
    for (const leg of legs) this.countLeg(leg);
    return direction;
  }

  private countLateLeg(leg: CdrLeg, direction: CallDirection): void {
    this.talk.inc({ direction }, leg.billsec);
    this.countLeg(leg);
  }

  /** Legs are tallied here and written to their two series once per page (flushLegs). */
  private countLeg(leg: CdrLeg): void {
    this.legsToFlush += 1;
    if (leg.id > this.lastRecordId) {
      this.lastRecordId = leg.id;
      this.newestLeg = leg;
    }
  }

  private flushLegs(): void {
    if (this.legsToFlush > 0) this.records.inc(this.legsToFlush);
    if (this.newestLeg) this.lastRecord.set(legEnd(this.newestLeg));
    this.legsToFlush = 0;
    this.newestLeg = null;
  }

  /** Zero series for every known provider; drop those of a deleted one. */
  private syncProviders(providers: readonly Provider[] | null): void {
    if (providers === null) return;
    const now = new Set(providers.map((p) => p.id));
    for (const provider of this.knownProviders) {
      if (now.has(provider)) continue;
      for (const direction of PROVIDER_CALL_DIRECTIONS) {
        for (const disposition of CALL_DISPOSITIONS) this.providerCalls.remove([provider, direction, disposition]);
      }
    }
    this.knownProviders = new Set([...this.knownProviders].filter((p) => now.has(p)));
    for (const provider of now) if (!this.knownProviders.has(provider)) this.addProvider(provider);
  }

  /** Every direction × disposition series of a provider, at 0. */
  private addProvider(provider: string): void {
    for (const direction of PROVIDER_CALL_DIRECTIONS) {
      for (const disposition of CALL_DISPOSITIONS) this.providerCalls.inc([provider, direction, disposition], 0);
    }
    this.knownProviders.add(provider);
  }
}
