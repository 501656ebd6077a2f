import { Gauge, type Registry } from 'prom-client';
import { PEER_STATUSES, type Extension, type PeerStatus } from '../api/types.js';
import type { CollectContext, Collector } from './collector.js';

export interface PeersOptions {
  intervalSeconds: number;
  /** Per-extension series; off keeps only the aggregates for very large PBXs. */
  details: boolean;
}

/** SIP extensions: registration status per extension and in aggregate. */
export class PeersCollector implements Collector {
  readonly name = 'peers' as const;
  private readonly peers: Gauge<'status'>;
  private readonly up: Gauge<'extension'> | null = null;
  private readonly info: Gauge<'extension' | 'name'> | null = null;
  private readonly rtt: Gauge<'extension'> | null = null;
  private readonly devices: Gauge<'extension'> | null = null;

  constructor(
    registry: Registry,
    private readonly opts: PeersOptions,
  ) {
    const every = `Refreshed every ${opts.intervalSeconds} seconds.`;
    const registers = [registry];
    this.peers = new Gauge({
      name: 'mikopbx_sip_peers',
      help: `Number of enabled SIP extensions in each status (available, unavailable, unknown). ${every}`,
      labelNames: ['status'],
      registers,
    });
    for (const status of PEER_STATUSES) this.peers.set({ status }, 0);
    if (opts.details) {
      this.up = new Gauge({ name: 'mikopbx_sip_peer_up', help: `1 if the SIP extension is available, else 0. ${every}`, labelNames: ['extension'], registers });
      this.info = new Gauge({
        name: 'mikopbx_sip_peer_info',
        help: `SIP extension metadata; name is the caller id / employee name; always 1. ${every}`,
        labelNames: ['extension', 'name'],
        registers,
      });
      this.rtt = new Gauge({
        name: 'mikopbx_sip_peer_rtt_seconds',
        help: `Best device round-trip time of the SIP extension in seconds, where the PBX reports one. ${every}`,
        labelNames: ['extension'],
        registers,
      });
      this.devices = new Gauge({
        name: 'mikopbx_sip_peer_devices',
        help: `Devices (contacts) registered for the SIP extension, where the PBX reports them. ${every}`,
        labelNames: ['extension'],
        registers,
      });
    }
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
    this.up?.reset();
    this.info?.reset();
    this.rtt?.reset();
    this.devices?.reset();
    for (const e of extensions) {
      if (seen.has(e.number)) continue; // a PBX answer listing one extension twice must not double-count it
      seen.add(e.number);
      const status: PeerStatus = e.status !== 'available' && e.correctableByLiveChannel && liveEndpoints?.has(e.number) ? 'available' : e.status;
      counts[status] += 1;
      if (this.up) {
        const extension = e.number;
        this.up.set({ extension }, status === 'available' ? 1 : 0);
        this.info?.set({ extension, name: e.name }, 1);
        if (e.rttSeconds !== null) this.rtt?.set({ extension }, e.rttSeconds);
        if (e.devices !== null) this.devices?.set({ extension }, e.devices);
      }
    }
    for (const status of PEER_STATUSES) this.peers.set({ status }, counts[status]);
  }
}
