import type { Metric, Registry } from 'prom-client';
import { LabelledGauge } from '../metrics/labelled.js';
import { PbxApiError } from '../api/errors.js';
import { ADVICE_LEVELS, ADVICE_TEMPLATES, JAILS, STORAGE_CATEGORIES, type AdviceList, type BansByJail, type StorageUsage } from '../api/health-types.js';
import type { HealthSource } from '../api/pbx-api.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import type { CollectContext, Collector } from './collector.js';

/** One of the four health reads; a failed one leaves its own series as they were. */
type Part = 'storage' | 'advice' | 'bans' | 'clock';

/**
 * PBX health (v3): disk usage, MikoPBX's own warnings (advice), fail2ban bans by jail, and the
 * PBX clock against the exporter's. Four cheap requests, one after another, on their own
 * schedule. The parts are independent: a key without /api/v3/firewall loses only the ban series
 * (and fails this collector), never the disk or advice values.
 */
export class SystemCollector implements Collector {
  readonly name = 'system' as const;
  private readonly help: IntervalHelp<number>;
  private readonly size: LabelledGauge;
  private readonly used: LabelledGauge;
  private readonly free: LabelledGauge;
  private readonly category: LabelledGauge<'category'>;
  private readonly s3Enabled: LabelledGauge;
  private readonly s3Bytes: LabelledGauge;
  private readonly advice: LabelledGauge<'level' | 'template'>;
  private readonly updateAvailable: LabelledGauge;
  private readonly updateInfo: LabelledGauge<'version'>;
  private readonly banned: LabelledGauge<'jail'>;
  private readonly skew: LabelledGauge;
  private readonly all: LabelledGauge[];
  private registered = true;
  /** Parts this PBX build has no endpoint for (404): not exported, not a failure, said once. */
  private readonly missing = new Set<Part>();

  constructor(
    private readonly registry: Registry,
    intervalSeconds: number,
  ) {
    // Its metrics leave the registry on a legacy PBX: HELP texts are found in `all`.
    const help = (this.help = new IntervalHelp(intervalSeconds, (name) => this.all.find((m) => m.name === name)));
    const every = (s: number) => `Refreshed every ${s} seconds.`;
    // The PBX measures its disk about every 30 min: the values are that old at most.
    const disk = (s: number) => `From the PBX's storage:usage (measured by the PBX about every 30 minutes). ${every(s)}`;
    const gauge = <L extends string>(name: string, text: (s: number) => string, labelNames: L[] = []) =>
      new LabelledGauge<L>({ name, help: help.text(name, text), labelNames, registers: [registry] });
    this.size = gauge('mikopbx_storage_size_bytes', (s) => `Size of the PBX's storage disk in bytes. ${disk(s)}`);
    this.used = gauge('mikopbx_storage_used_bytes', (s) => `Used space on the PBX's storage disk in bytes. ${disk(s)}`);
    this.free = gauge('mikopbx_storage_free_bytes', (s) => `Free space on the PBX's storage disk in bytes. ${disk(s)}`);
    this.category = gauge(
      'mikopbx_storage_category_bytes',
      (s) =>
        `Space used on the storage disk by category (call recordings, CDR database, logs, …), in bytes; "other" is the rest and may be negative. ${disk(s)}`,
      ['category'],
    );
    this.s3Enabled = gauge(
      'mikopbx_storage_s3_enabled',
      (s) => `1 if offloading recordings to S3 is enabled on the PBX, else 0 (absent where the PBX does not say). ${disk(s)}`,
    );
    this.s3Bytes = gauge(
      'mikopbx_storage_s3_bytes',
      (s) => `Bytes of recordings held in S3 storage, as the PBX reports them (absent where it does not say). ${disk(s)}`,
    );
    this.advice = gauge('mikopbx_advice', (s) => `MikoPBX's own system warnings (advice), counted by level and message template. ${every(s)}`, [
      'level',
      'template',
    ]);
    this.updateAvailable = gauge(
      'mikopbx_advice_update_available',
      (s) => `1 if the PBX offers a newer MikoPBX version (advice adv_AvailableNewVersionPBX), else 0. ${every(s)}`,
    );
    this.updateInfo = gauge(
      'mikopbx_advice_update_info',
      (s) => `The MikoPBX version the PBX offers as an update; always 1, absent when none is offered. ${every(s)}`,
      ['version'],
    );
    this.banned = gauge('mikopbx_banned_ips', (s) => `IP addresses banned by the PBX's fail2ban, by jail (never one series per IP). ${every(s)}`, ['jail']);
    this.skew = gauge(
      'mikopbx_clock_skew_seconds',
      (s) =>
        `PBX clock minus the exporter's clock, in seconds, corrected by half the request's round trip (±0.5 s: the PBX reports whole seconds). ${every(s)}`,
    );
    this.all = [
      this.size,
      this.used,
      this.free,
      this.category,
      this.s3Enabled,
      this.s3Bytes,
      this.advice,
      this.updateAvailable,
      this.updateInfo,
      this.banned,
      this.skew,
    ];
    this.resetAdvice();
    this.resetBans();
  }

  /** Removes (or restores) every series of this collector, for a PBX without these endpoints. */
  setRegistered(on: boolean): void {
    if (on === this.registered) return;
    for (const m of this.all) {
      if (on) this.registry.registerMetric(m as unknown as Metric);
      else this.registry.removeSingleMetric(m.name);
    }
    this.registered = on;
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const source = ctx.api.health;
    if (!source) throw new Error(`the ${ctx.api.generation} API has no PBX health endpoints`);
    const reads: [Part, () => Promise<void>][] = [
      ['storage', async () => this.applyStorage(await source.storageUsage())],
      ['advice', async () => this.applyAdvice(await source.adviceList())],
      ['bans', async () => this.applyBans(await source.bannedIps())],
      ['clock', () => this.readClock(source, ctx.now)],
    ];
    let first: unknown = null;
    for (const [part, read] of reads) {
      try {
        await read();
        this.missing.delete(part);
      } catch (e) {
        // An older v3 build without this endpoint (firewall:getBannedIps came in 2026.1): the part
        // does not exist there, which is no failure of the collector.
        if (e instanceof PbxApiError && e.kind === 'not-found') {
          if (!this.missing.has(part))
            ctx.log.info(
              { collector: this.name, part, endpoint: e.endpoint },
              `system collector: this PBX has no ${e.endpoint} endpoint; its ${part} series are not exported`,
            );
          this.missing.add(part);
          this.drop(part);
          continue;
        }
        first ??= e;
        ctx.log.debug({ collector: this.name, part, err: e }, `system collector: the ${part} read failed`);
        // A PBX that did not answer in time would only make the next reads wait (3 API workers).
        if (
          e instanceof PbxApiError &&
          (e.kind === 'timeout' || e.kind === 'network' || e.kind === 'budget' || e.kind === 'shutdown' || e.kind === 'backoff' || e.kind === 'in_flight')
        )
          break;
      }
    }
    if (first !== null) throw first;
  }

  private async readClock(source: HealthSource, now: () => number): Promise<void> {
    const sent = now();
    const pbxSeconds = await source.clock();
    const midpoint = (sent + now()) / 2 / 1000;
    // The PBX truncates to whole seconds: its clock read somewhere in [pbxSeconds, pbxSeconds + 1).
    this.skew.set(Math.round((pbxSeconds + 0.5 - midpoint) * 1000) / 1000);
  }

  /** Removes every series of a part the PBX does not have. */
  private drop(part: Part): void {
    const gauges: Record<Part, LabelledGauge[]> = {
      storage: [this.size, this.used, this.free, this.category, this.s3Enabled, this.s3Bytes],
      advice: [this.advice, this.updateAvailable, this.updateInfo],
      bans: [this.banned],
      clock: [this.skew],
    };
    // A reset gauge without labels would read 0: those are removed instead.
    for (const g of gauges[part]) {
      if (g.labelNames.length > 0) g.reset();
      else g.remove();
    }
  }

  /** Replaces the disk series; a PBX that has not measured yet exports none (not zeros). */
  applyStorage(usage: StorageUsage | null): void {
    // remove(), not reset(): a reset gauge without labels reads 0, and "no measurement" is not 0 bytes.
    for (const g of [this.size, this.used, this.free, this.s3Enabled, this.s3Bytes]) g.remove();
    this.category.reset();
    if (usage === null) return;
    this.size.set(usage.sizeBytes);
    this.used.set(usage.usedBytes);
    this.free.set(usage.freeBytes);
    for (const category of STORAGE_CATEGORIES) this.category.set({ category }, usage.categories.get(category) ?? 0);
    for (const [category, bytes] of usage.categories) this.category.set({ category }, bytes);
    if (usage.s3) {
      this.s3Enabled.set(usage.s3.enabled ? 1 : 0);
      this.s3Bytes.set(usage.s3.bytes);
    }
  }

  applyAdvice(list: AdviceList): void {
    this.resetAdvice();
    const counts = new Map<string, number>();
    for (const { level, template } of list.entries) counts.set(`${level}\u0000${template}`, (counts.get(`${level}\u0000${template}`) ?? 0) + 1);
    for (const [key, n] of counts) {
      const [level, template] = key.split('\u0000') as [string, string];
      this.advice.set({ level, template }, n);
    }
    this.updateAvailable.set(list.updateVersion === null ? 0 : 1);
    this.updateInfo.reset();
    if (list.updateVersion !== null) this.updateInfo.set({ version: list.updateVersion }, 1);
  }

  applyBans(bans: BansByJail): void {
    this.resetBans();
    for (const [jail, n] of bans) this.banned.set({ jail }, n);
  }

  /** Every known template at 0 under its level; others appear while the PBX reports them. */
  private resetAdvice(): void {
    this.advice.reset();
    for (const level of ADVICE_LEVELS) for (const template of ADVICE_TEMPLATES[level]) this.advice.set({ level, template }, 0);
  }

  private resetBans(): void {
    this.banned.reset();
    for (const jail of JAILS) this.banned.set({ jail }, 0);
  }
}
