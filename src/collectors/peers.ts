import type { Registry } from 'prom-client';
import { LabelledGauge } from '../metrics/labelled.js';
import { PEER_STATUSES, type Extension, type PeerStatus } from '../api/types.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import { GaugeFamily, type SeriesRow } from '../metrics/series-family.js';
import type { CollectContext, Collector } from './collector.js';

export interface PeersOptions {
  intervalSeconds: number;
  /** Per-extension series; off keeps only the aggregates for very large PBXs. */
  details: boolean;
}

/** SIP extensions: registration status per extension and in aggregate. */
export class PeersCollector implements Collector {
  readonly name = 'peers' as const;
  private readonly peers: LabelledGauge<'status'>;
  /** Per-extension families (PEER_DETAILS); null when only the aggregates are exported. */
  private readonly help: IntervalHelp<number>;
  private readonly details: { up: GaugeFamily; info: GaugeFamily; rtt: GaugeFamily; devices: GaugeFamily } | null = null;

  constructor(
    registry: Registry,
    private readonly opts: PeersOptions,
  ) {
    const help = (this.help = IntervalHelp.of(registry, opts.intervalSeconds));
    const every = (s: number) => `Refreshed every ${s} seconds.`;
    const registers = [registry];
    this.peers = new LabelledGauge({
      name: 'mikopbx_sip_peers',
      help: help.text('mikopbx_sip_peers', (s) => `Number of enabled SIP extensions in each status (available, unavailable, unknown). ${every(s)}`),
      labelNames: ['status'],
      registers,
    });
    for (const status of PEER_STATUSES) this.peers.set({ status }, 0);
    if (opts.details) {
      this.details = {
        up: new GaugeFamily(
          'mikopbx_sip_peer_up',
          help.text('mikopbx_sip_peer_up', (s) => `1 if the SIP extension is available, else 0. ${every(s)}`),
          ['extension'],
          registers,
        ),
        info: new GaugeFamily(
          'mikopbx_sip_peer_info',
          help.text('mikopbx_sip_peer_info', (s) => `SIP extension metadata; name is the caller id / employee name; always 1. ${every(s)}`),
          ['extension', 'name'],
          registers,
        ),
        rtt: new GaugeFamily(
          'mikopbx_sip_peer_rtt_seconds',
          help.text(
            'mikopbx_sip_peer_rtt_seconds',
            (s) => `Best device round-trip time of the SIP extension in seconds, where the PBX reports one. ${every(s)}`,
          ),
          ['extension'],
          registers,
        ),
        devices: new GaugeFamily(
          'mikopbx_sip_peer_devices',
          help.text('mikopbx_sip_peer_devices', (s) => `Devices (contacts) registered for the SIP extension, where the PBX reports them. ${every(s)}`),
          ['extension'],
          registers,
        ),
      };
    }
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const extensions = await ctx.api.getExtensions();
    this.apply(extensions, ctx.snapshot.liveEndpoints);
    ctx.snapshot.extensionNumbers = new Set(extensions.map((e) => e.number));
  }

  /** Replaces every series from a complete, parsed result. */
  apply(extensions: readonly Extension[], liveEndpoints: Set<string> | null): void {
    const counts: Record<PeerStatus, number> = { available: 0, unavailable: 0, unknown: 0 };
    const seen = new Set<string>();
    const up: SeriesRow[] = [];
    const info: SeriesRow[] = [];
    const rtt: SeriesRow[] = [];
    const devices: SeriesRow[] = [];
    const details = this.details !== null;
    for (const e of extensions) {
      if (seen.has(e.number)) continue; // a PBX answer listing one extension twice must not double-count it
      seen.add(e.number);
      const status: PeerStatus = e.status !== 'available' && e.correctableByLiveChannel && liveEndpoints?.has(e.number) ? 'available' : e.status;
      counts[status] += 1;
      if (details) {
        const extension = [e.number];
        up.push([extension, status === 'available' ? 1 : 0]);
        info.push([[e.number, e.name], 1]);
        if (e.rttSeconds !== null) rtt.push([extension, e.rttSeconds]);
        if (e.devices !== null) devices.push([extension, e.devices]);
      }
    }
    if (this.details) {
      this.details.up.replace(up);
      this.details.info.replace(info);
      this.details.rtt.replace(rtt);
      this.details.devices.replace(devices);
    }
    for (const status of PEER_STATUSES) this.peers.set({ status }, counts[status]);
  }
}
