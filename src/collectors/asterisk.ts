import type { Registry } from 'prom-client';
import type { CoreSource } from '../api/ami/client.js';
import type { CoreSettings, CoreStatus } from '../api/ami/types.js';
import { pbxLocalToUnix } from '../api/time.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import { CounterFamily, GaugeFamily } from '../metrics/series-family.js';
import type { CollectContext, Collector } from './collector.js';
import { ResettingCounter } from './monotonic.js';

export interface AsteriskOptions {
  intervalSeconds: number;
  /**
   * The PBX's UTC offset in minutes east, or null while not known. CoreStatus gives local
   * wall-clock times without a zone; the exporter's own zone says nothing about the PBX's.
   */
  utcOffsetMinutes: () => number | null;
}

/**
 * Asterisk itself, over AMI: when it started and last reloaded (CoreStatus), how many calls it has
 * processed (CoreProcessedCalls, Asterisk 20.12+ / 22.2+; kept monotonic across restarts), and its
 * version (CoreSettings). Both actions need write permission "reporting" (or "system").
 */
export class AsteriskCollector implements Collector {
  readonly name = 'asterisk' as const;
  private readonly help: IntervalHelp<number>;
  private readonly startTime: GaugeFamily;
  private readonly reloadTime: GaugeFamily;
  private readonly processed: CounterFamily;
  private readonly info: GaugeFamily;
  private readonly processedCount = new ResettingCounter();
  private lastStart: string | null = null;
  private offsetUnknownLogged = false;

  constructor(
    registry: Registry,
    private readonly ami: CoreSource,
    private readonly opts: AsteriskOptions,
  ) {
    const help = (this.help = IntervalHelp.of(registry, opts.intervalSeconds));
    const registers = [registry];
    const every = (s: number) => `Refreshed every ${s} seconds.`;
    const local =
      'CoreStatus gives the PBX-local time without a zone; converted with the PBX UTC offset, and absent while the exporter does not know that offset.';
    this.startTime = new GaugeFamily(
      'mikopbx_asterisk_start_time_seconds',
      help.text('mikopbx_asterisk_start_time_seconds', (s) => `Unix time Asterisk started (AMI CoreStatus). ${local} ${every(s)}`),
      [],
      registers,
    );
    this.reloadTime = new GaugeFamily(
      'mikopbx_asterisk_reload_time_seconds',
      help.text(
        'mikopbx_asterisk_reload_time_seconds',
        (s) => `Unix time of Asterisk's last reload (its start if never reloaded; AMI CoreStatus). ${local} ${every(s)}`,
      ),
      [],
      registers,
    );
    this.processed = new CounterFamily(
      'mikopbx_asterisk_processed_calls_total',
      help.text(
        'mikopbx_asterisk_processed_calls_total',
        (s) =>
          `Calls Asterisk has processed (AMI CoreStatus CoreProcessedCalls, as "core show channels" counts them; absent before Asterisk 20.12 / 22.2). Asterisk counts from its start; this counter stays monotonic across restarts. ${every(s)}`,
      ),
      [],
      registers,
    );
    this.info = new GaugeFamily(
      'mikopbx_asterisk_info',
      help.text('mikopbx_asterisk_info', (s) => `The Asterisk version (AMI CoreSettings); always 1. ${every(s)}`),
      ['version'],
      registers,
    );
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const status = await this.ami.coreStatus();
    const settings = await this.ami.coreSettings();
    this.apply(status, settings, ctx);
  }

  private apply(status: CoreStatus, settings: CoreSettings, ctx: CollectContext): void {
    const offset = this.opts.utcOffsetMinutes();
    const started = `${status.startupDate} ${status.startupTime}`;
    if (offset === null) {
      if (!this.offsetUnknownLogged)
        ctx.log.info(
          { collector: this.name },
          'asterisk collector: the PBX UTC offset is not known yet; mikopbx_asterisk_start_time_seconds and mikopbx_asterisk_reload_time_seconds are not exported until it is',
        );
      this.offsetUnknownLogged = true;
      this.startTime.reset();
      this.reloadTime.reset();
    } else {
      this.offsetUnknownLogged = false;
      const start = pbxLocalToUnix(started, offset);
      const reload = pbxLocalToUnix(`${status.reloadDate} ${status.reloadTime}`, offset);
      this.startTime.replace(start === null ? [] : [[[], start]]);
      this.reloadTime.replace(reload === null ? [] : [[[], reload]]);
    }
    if (status.processedCalls === null) {
      this.processed.reset();
    } else {
      // A new start time is a restart for sure, even when the new count has already passed the old one.
      const restarted = this.lastStart !== null && this.lastStart !== started;
      this.processed.inc([], this.processedCount.observe(status.processedCalls, restarted));
    }
    this.lastStart = started;
    this.info.replace([[[settings.asteriskVersion], 1]]);
  }
}
