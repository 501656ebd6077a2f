import { expect } from 'vitest';
import type { SimTruth } from '../../sim/index.js';
import { byLabel, labelsOf, parseExposition, seriesOf } from './exposition.js';

/** What truth() says is reported, dropping the values the PBX does not report (null). */
const reported = <T>(o: Record<string, T>, pick: (v: T) => number | null): Record<string, number> =>
  Object.fromEntries(Object.entries(o).flatMap(([k, v]) => (pick(v) === null ? [] : [[k, pick(v) as number]])));

/**
 * Every status series of an exposition against the simulator's truth(): the aggregates, and per
 * extension and provider the state, the info labels (names, protocol, host, username), RTTs,
 * devices and state-since times, with no series for objects the PBX does not have.
 */
export function expectStatusMatchesTruth(text: string, truth: SimTruth): void {
  const samples = parseExposition(text);
  const get = (name: string, label: string) => byLabel(samples, name, label);
  expect(samples.get('mikopbx_up')).toBe(1);
  expect(samples.get(`mikopbx_api_info{api="${truth.mode}"}`)).toBe(1);

  expect(get('mikopbx_sip_peers', 'status')).toEqual(truth.extensions);
  expect(get('mikopbx_sip_peer_up', 'extension')).toEqual(reported(truth.peers, (p) => (p.status === 'available' ? 1 : 0)));
  const peerNames = Object.fromEntries([...seriesOf(samples, 'mikopbx_sip_peer_info')].map(([k]) => [labelsOf(k).extension, labelsOf(k).name]));
  expect(peerNames).toEqual(Object.fromEntries(Object.entries(truth.peers).map(([n, p]) => [n, p.name])));
  expect(get('mikopbx_sip_peer_rtt_seconds', 'extension')).toEqual(reported(truth.peers, (p) => p.rttSeconds));
  expect(get('mikopbx_sip_peer_devices', 'extension')).toEqual(reported(truth.peers, (p) => p.devices));

  const info = Object.fromEntries(
    [...seriesOf(samples, 'mikopbx_provider_info')].map(([k]) => {
      const { provider, ...rest } = labelsOf(k);
      return [provider, rest];
    }),
  );
  expect(info).toEqual(
    Object.fromEntries(Object.entries(truth.providers).map(([id, p]) => [id, { name: p.name, protocol: p.protocol, host: p.host, username: p.username }])),
  );
  const states = Object.fromEntries(
    [...seriesOf(samples, 'mikopbx_provider_state')].filter(([, v]) => v === 1).map(([k]) => [labelsOf(k).provider, labelsOf(k).state]),
  );
  expect(states).toEqual(Object.fromEntries(Object.entries(truth.providers).map(([id, p]) => [id, p.state])));
  expect(get('mikopbx_provider_registered', 'provider')).toEqual(reported(truth.providers, (p) => (p.registered ? 1 : 0)));
  expect(get('mikopbx_provider_rtt_seconds', 'provider')).toEqual(reported(truth.providers, (p) => p.rttSeconds));
  expect(get('mikopbx_provider_state_since_timestamp_seconds', 'provider')).toEqual(reported(truth.providers, (p) => p.stateSince));
  expect(get('mikopbx_providers', 'state')).toEqual(truth.providersByState);

  expect(get('mikopbx_active_calls', 'direction')).toEqual(truth.activeCalls);
  expect(samples.get('mikopbx_active_channels')).toBe(truth.activeChannels);
  expect(get('mikopbx_provider_active_calls', 'provider')).toEqual(truth.providerActiveCalls);
}
