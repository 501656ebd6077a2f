import type { Registry } from 'prom-client';
import { LabelledGauge } from '../metrics/labelled.js';
import { isRegisteredState } from '../api/mapping.js';
import { PROVIDER_STATES, type Provider, type ProviderState } from '../api/types.js';
import { IntervalHelp } from '../metrics/interval-help.js';
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
  private readonly total: LabelledGauge<'state'>;
  private readonly help: IntervalHelp<number>;

  constructor(registry: Registry, intervalSeconds: number) {
    const help = (this.help = IntervalHelp.of(registry, intervalSeconds));
    const every = (s: number) => `Refreshed every ${s} seconds.`;
    const registers = [registry];
    this.info = new GaugeFamily(
      'mikopbx_provider_info',
      help.text('mikopbx_provider_info', (s) => `Provider (trunk) metadata; name is its description; always 1. ${every(s)}`),
      ['provider', 'name', 'protocol', 'host', 'username'],
      registers,
    );
    this.state = new GaugeFamily(
      'mikopbx_provider_state',
      help.text('mikopbx_provider_state', (s) => `1 for the provider's current registration state, 0 for the others. ${every(s)}`),
      ['provider', 'state'],
      registers,
    );
    this.registered = new GaugeFamily(
      'mikopbx_provider_registered',
      help.text('mikopbx_provider_registered', (s) => `1 if the provider is registered (state registered or ok), else 0 (also 0 when disabled). ${every(s)}`),
      ['provider'],
      registers,
    );
    this.rtt = new GaugeFamily(
      'mikopbx_provider_rtt_seconds',
      help.text('mikopbx_provider_rtt_seconds', (s) => `Round-trip time to the provider in seconds, where the PBX reports one. ${every(s)}`),
      ['provider'],
      registers,
    );
    this.since = new GaugeFamily(
      'mikopbx_provider_state_since_timestamp_seconds',
      help.text('mikopbx_provider_state_since_timestamp_seconds', (s) => `Unix time the provider's current state began, where the PBX reports it. ${every(s)}`),
      ['provider'],
      registers,
    );
    this.total = new LabelledGauge({
      name: 'mikopbx_providers',
      help: help.text('mikopbx_providers', (s) => `Number of providers in each state. ${every(s)}`),
      labelNames: ['state'],
      registers,
    });
    for (const state of PROVIDER_STATES) this.total.set({ state }, 0);
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
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
