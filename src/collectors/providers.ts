import { Gauge, type Registry } from 'prom-client';
import { isRegisteredState } from '../api/mapping.js';
import { PROVIDER_STATES, type Provider, type ProviderState } from '../api/types.js';
import type { CollectContext, Collector } from './collector.js';

/** SIP and IAX providers (trunks): registration state as a state set, plus aggregates. */
export class ProvidersCollector implements Collector {
  readonly name = 'providers' as const;
  private readonly info: Gauge<'provider' | 'name' | 'protocol' | 'host' | 'username'>;
  private readonly state: Gauge<'provider' | 'state'>;
  private readonly registered: Gauge<'provider'>;
  private readonly rtt: Gauge<'provider'>;
  private readonly since: Gauge<'provider'>;
  private readonly total: Gauge<'state'>;

  constructor(registry: Registry, intervalSeconds: number) {
    const every = `Refreshed every ${intervalSeconds} seconds.`;
    const registers = [registry];
    this.info = new Gauge({
      name: 'mikopbx_provider_info',
      help: `Provider (trunk) metadata; name is its description; always 1. ${every}`,
      labelNames: ['provider', 'name', 'protocol', 'host', 'username'],
      registers,
    });
    this.state = new Gauge({
      name: 'mikopbx_provider_state',
      help: `1 for the provider's current registration state, 0 for the others. ${every}`,
      labelNames: ['provider', 'state'],
      registers,
    });
    this.registered = new Gauge({
      name: 'mikopbx_provider_registered',
      help: `1 if the provider is registered (state registered or ok), else 0 (also 0 when disabled). ${every}`,
      labelNames: ['provider'],
      registers,
    });
    this.rtt = new Gauge({
      name: 'mikopbx_provider_rtt_seconds',
      help: `Round-trip time to the provider in seconds, where the PBX reports one. ${every}`,
      labelNames: ['provider'],
      registers,
    });
    this.since = new Gauge({
      name: 'mikopbx_provider_state_since_timestamp_seconds',
      help: `Unix time the provider's current state began, where the PBX reports it. ${every}`,
      labelNames: ['provider'],
      registers,
    });
    this.total = new Gauge({ name: 'mikopbx_providers', help: `Number of providers in each state. ${every}`, labelNames: ['state'], registers });
    for (const state of PROVIDER_STATES) this.total.set({ state }, 0);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const providers = await ctx.api.getProviders();
    this.apply(providers);
    ctx.snapshot.providers = providers;
  }

  apply(providers: readonly Provider[]): void {
    const counts = Object.fromEntries(PROVIDER_STATES.map((s) => [s, 0])) as Record<ProviderState, number>;
    for (const g of [this.info, this.state, this.registered, this.rtt, this.since]) g.reset();
    for (const p of providers) {
      const provider = p.id;
      counts[p.state] += 1;
      this.info.set({ provider, name: p.name, protocol: p.protocol, host: p.host, username: p.username }, 1);
      for (const state of PROVIDER_STATES) this.state.set({ provider, state }, state === p.state ? 1 : 0);
      this.registered.set({ provider }, isRegisteredState(p.state) ? 1 : 0);
      if (p.rttSeconds !== null) this.rtt.set({ provider }, p.rttSeconds);
      if (p.stateSince !== null) this.since.set({ provider }, p.stateSince);
    }
    for (const state of PROVIDER_STATES) this.total.set({ state }, counts[state]);
  }
}
