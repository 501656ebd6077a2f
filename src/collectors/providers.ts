import { Gauge, type Registry } from 'prom-client';
import { isRegisteredState } from '../api/mapping.js';
import { PROVIDER_STATES, type Provider, type ProviderState } from '../api/types.js';
import { GaugeFamily, type SeriesRow } from '../metrics/series-family.js';
import type { CollectContext, Collector } from './collector.js';

/** SIP and IAX providers (trunks): registration state as a state set, plus aggregates. */
export class ProvidersCollector implements Collector {
  readonly name = 'providers' as const;
  private readonly info: GaugeFamily;
  private readonly state: GaugeFamily;
  private readonly registered: GaugeFamily;
  private readonly rtt: GaugeFamily;
  private readonly since: GaugeFamily;
  private readonly total: Gauge<'state'>;

  constructor(registry: Registry, intervalSeconds: number) {
    const every = `Refreshed every ${intervalSeconds} seconds.`;
    const registers = [registry];
    this.info = new GaugeFamily(
      'mikopbx_provider_info',
      `Provider (trunk) metadata; name is its description; always 1. ${every}`,
      ['provider', 'name', 'protocol', 'host', 'username'],
      registers,
    );
    this.state = new GaugeFamily('mikopbx_provider_state', `1 for the provider's current registration state, 0 for the others. ${every}`, ['provider', 'state'], registers);
    this.registered = new GaugeFamily(
      'mikopbx_provider_registered',
      `1 if the provider is registered (state registered or ok), else 0 (also 0 when disabled). ${every}`,
      ['provider'],
      registers,
    );
    this.rtt = new GaugeFamily('mikopbx_provider_rtt_seconds', `Round-trip time to the provider in seconds, where the PBX reports one. ${every}`, ['provider'], registers);
    this.since = new GaugeFamily(
      'mikopbx_provider_state_since_timestamp_seconds',
      `Unix time the provider's current state began, where the PBX reports it. ${every}`,
      ['provider'],
      registers,
    );
    this.total = new Gauge({ name: 'mikopbx_providers', help: `Number of providers in each state. ${every}`, labelNames: ['state'], registers });
    for (const state of PROVIDER_STATES) this.total.set({ state }, 0);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const providers = await ctx.api.getProviders();
    this.apply(providers);
    ctx.snapshot.providers = providers;
  }

  /** Replaces every series; providers come deduplicated by id from the parser. */
  apply(providers: readonly Provider[]): void {
    const counts = Object.fromEntries(PROVIDER_STATES.map((s) => [s, 0])) as Record<ProviderState, number>;
    const info: SeriesRow[] = [];
    const state: SeriesRow[] = [];
    const registered: SeriesRow[] = [];
    const rtt: SeriesRow[] = [];
    const since: SeriesRow[] = [];
    for (const p of providers) {
      const provider = [p.id];
      counts[p.state] += 1;
      info.push([[p.id, p.name, p.protocol, p.host, p.username], 1]);
      for (const s of PROVIDER_STATES) state.push([[p.id, s], s === p.state ? 1 : 0]);
      registered.push([provider, isRegisteredState(p.state) ? 1 : 0]);
      if (p.rttSeconds !== null) rtt.push([provider, p.rttSeconds]);
      if (p.stateSince !== null) since.push([provider, p.stateSince]);
    }
    this.info.replace(info);
    this.state.replace(state);
    this.registered.replace(registered);
    this.rtt.replace(rtt);
    this.since.replace(since);
    for (const s of PROVIDER_STATES) this.total.set({ state: s }, counts[s]);
  }
}
