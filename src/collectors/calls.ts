import type { Registry } from 'prom-client';
import { LabelledGauge } from '../metrics/labelled.js';
import { IntervalHelp } from '../metrics/interval-help.js';
import type { ActiveCallsSnapshot, Provider } from '../api/types.js';
import { endpointOfChannel, extensionOfEndpoint, TrunkMatcher } from './channels.js';
import type { CollectContext, Collector } from './collector.js';

export const CALL_DIRECTIONS = ['inbound', 'outbound', 'internal'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

export interface ActiveCallsSummary {
  byDirection: Record<CallDirection, number>;
  channels: number;
  byProvider: Map<string, number>;
  /** Extension endpoints with a live channel (corrects legacy's UNKNOWN for phones in a call). */
  liveExtensions: Set<string>;
}

/** Up to five digits is an internal number on MikoPBX; used only when extensions are not known. */
const looksInternal = (n: string) => /^\d{1,5}$/.test(n);

/**
 * Turns call legs into calls: distinct linkedids (legs of one call, even already ended legs of a
 * running call, are one call), direction by channel names, per-trunk counts.
 */
export function summariseActiveCalls(
  snapshot: ActiveCallsSnapshot,
  providers: readonly Provider[] | null,
  extensionNumbers: Set<string> | null,
): ActiveCallsSummary {
  const trunks = new TrunkMatcher(providers);
  const isInternal = (n: string) => (extensionNumbers && extensionNumbers.size > 0 ? extensionNumbers.has(n) : looksInternal(n));
  const calls = new Map<string, { inbound: boolean; outbound: boolean; trunks: Set<string> }>();
  const channels = new Set<string>();
  const liveExtensions = new Set<string>();

  for (const leg of snapshot.legs) {
    let call = calls.get(leg.linkedid);
    if (!call) {
      call = { inbound: false, outbound: false, trunks: new Set() };
      calls.set(leg.linkedid, call);
    }
    if (snapshot.hasChannels) {
      const srcTrunk = trunks.providerOfChannel(leg.srcChannel);
      const dstTrunk = trunks.providerOfChannel(leg.dstChannel);
      if (srcTrunk) {
        call.inbound = true;
        call.trunks.add(srcTrunk);
      }
      if (dstTrunk) {
        call.outbound = true;
        call.trunks.add(dstTrunk);
      }
    } else {
      if (leg.srcNum !== '' && !isInternal(leg.srcNum)) call.inbound = true;
      if (leg.dstNum !== '' && !isInternal(leg.dstNum)) call.outbound = true;
    }
    if (!leg.ended) {
      for (const ch of [leg.srcChannel, leg.dstChannel]) {
        if (!ch) continue;
        channels.add(ch);
        const ep = extensionOfEndpoint(endpointOfChannel(ch));
        if (!trunks.providerOfChannel(ch)) liveExtensions.add(ep);
      }
      // Without channel names, an internal number on a live leg is the best sign of a phone in a call.
      if (!snapshot.hasChannels) for (const n of [leg.srcNum, leg.dstNum]) if (n !== '' && isInternal(n)) liveExtensions.add(n);
    }
  }

  const byDirection: Record<CallDirection, number> = { inbound: 0, outbound: 0, internal: 0 };
  const byProvider = new Map<string, number>();
  for (const p of providers ?? []) byProvider.set(p.id, 0);
  for (const call of calls.values()) {
    byDirection[call.inbound ? 'inbound' : call.outbound ? 'outbound' : 'internal'] += 1;
    for (const t of call.trunks) byProvider.set(t, (byProvider.get(t) ?? 0) + 1);
  }
  return { byDirection, channels: channels.size, byProvider, liveExtensions };
}

/** Calls in progress, live channels, calls per trunk. */
export class CallsCollector implements Collector {
  readonly name = 'calls' as const;
  private readonly calls: LabelledGauge<'direction'>;
  private readonly channels: LabelledGauge;
  private readonly perProvider: LabelledGauge<'provider'>;

  private readonly help: IntervalHelp<number>;

  constructor(registry: Registry, intervalSeconds: number) {
    const help = (this.help = IntervalHelp.of(registry, intervalSeconds));
    const every = (s: number) => `Refreshed every ${s} seconds.`;
    const registers = [registry];
    this.calls = new LabelledGauge({
      name: 'mikopbx_active_calls',
      help: help.text('mikopbx_active_calls', (s) => `Calls in progress (distinct linkedid, not legs) by direction. ${every(s)}`),
      labelNames: ['direction'],
      registers,
    });
    this.channels = new LabelledGauge({
      name: 'mikopbx_active_channels',
      help: help.text('mikopbx_active_channels', (s) => `Live Asterisk channels of calls in progress (distinct channel names). ${every(s)}`),
      registers,
    });
    this.perProvider = new LabelledGauge({
      name: 'mikopbx_provider_active_calls',
      help: help.text('mikopbx_provider_active_calls', (s) => `Calls in progress through each provider (0 for idle ones). ${every(s)}`),
      labelNames: ['provider'],
      registers,
    });
    for (const direction of CALL_DIRECTIONS) this.calls.set({ direction }, 0);
    this.channels.set(0);
  }

  setIntervalSeconds(seconds: number): void {
    this.help.set(seconds);
  }

  async collect(ctx: CollectContext): Promise<void> {
    const snapshot = await ctx.api.getActiveCalls();
    const summary = summariseActiveCalls(snapshot, ctx.snapshot.providers, ctx.snapshot.extensionNumbers);
    this.apply(summary);
    ctx.snapshot.liveEndpoints = summary.liveExtensions;
  }

  apply(summary: ActiveCallsSummary): void {
    for (const direction of CALL_DIRECTIONS) this.calls.set({ direction }, summary.byDirection[direction]);
    this.channels.set(summary.channels);
    this.perProvider.reset();
    for (const [provider, n] of summary.byProvider) this.perProvider.set({ provider }, n);
  }
}
