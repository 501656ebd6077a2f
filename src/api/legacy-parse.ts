import { ShapeError } from './errors.js';
import { legacyIaxState, legacyPeerStatus, providerState } from './mapping.js';
import type { ActiveLeg, Extension, PeerStatus, Provider, ProviderProtocol } from './types.js';
import { expectId, expectMapOrList, expectObject, optionalNumber, optionalString } from './validate.js';
import { parseActiveCallRows, parseActiveChannels } from './calls-parse.js';

// Pure parsers from legacy (MikoPBX ≤ 2024.x) `data` payloads (mikopbx-api.md §3) to domain objects.

/** MikoPBX extension numbers are digits only; anything else in the peer list is a trunk endpoint. */
const EXTENSION_NUMBER = /^\d+$/;

/**
 * `sip/getPeersStatuses` data: a list of `{id, state}` for every PJSIP endpoint. Trunk endpoints
 * (`SIP-TRUNK-…`, `SIP-1601534775`, …) are not extensions and are dropped; `NNN-WS` (WebRTC) is the
 * same extension as `NNN` and is merged into it, `OK` winning (as 2024.1 does itself).
 * Legacy reports no name, RTT or device count.
 */
export function parseLegacyPeers(data: unknown): Extension[] {
  const byNumber = new Map<string, { status: PeerStatus; correctable: boolean }>();
  const rank: Record<PeerStatus, number> = { available: 2, unavailable: 1, unknown: 0 };
  expectMapOrList(data, 'data').forEach((raw, i) => {
    const path = `data[${i}]`;
    const p = expectObject(raw, path);
    const id = expectId(p.id, `${path}.id`);
    const number = id.endsWith('-WS') ? id.slice(0, -3) : id;
    if (!EXTENSION_NUMBER.test(number)) return;
    const mapped = legacyPeerStatus(optionalString(p.state, `${path}.state`));
    const prev = byNumber.get(number);
    if (!prev || rank[mapped.status] > rank[prev.status]) byNumber.set(number, mapped);
  });
  return [...byNumber].map(([number, s]) => ({
    number,
    name: '',
    status: s.status,
    correctableByLiveChannel: s.correctable,
    rttSeconds: null,
    devices: null,
  }));
}

function noregisterOf(v: unknown, path: string): boolean | null {
  const s = optionalString(v, path);
  if (s === '1' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  return null;
}

/**
 * `sip/getRegistry` / `iax/getRegistry` data: a list of `{id, state, host, username}`; IAX adds
 * `noregister` and, for noregister peers, `time-response` (ms, or "N/A"). Legacy has no provider
 * description, so `name` is ''.
 */
export function parseLegacyRegistry(data: unknown, protocol: ProviderProtocol): Provider[] {
  return expectMapOrList(data, 'data').map((raw, i) => {
    const path = `data[${i}]`;
    const p = expectObject(raw, path);
    const rawState = optionalString(p.state, `${path}.state`);
    const state = protocol === 'iax' ? legacyIaxState(rawState, noregisterOf(p.noregister, `${path}.noregister`)) : providerState(rawState);
    const rttMs = protocol === 'iax' ? optionalNumber(p['time-response'], `${path}.time-response`) : null;
    return {
      id: expectId(p.id, `${path}.id`),
      name: '',
      protocol,
      host: optionalString(p.host, `${path}.host`),
      username: optionalString(p.username, `${path}.username`),
      state,
      rttSeconds: rttMs === null || rttMs < 0 || state === 'off' ? null : rttMs / 1000,
      stateSince: null,
    };
  });
}

/**
 * Rows of a legacy active-calls answer. `cdr/getActiveCalls` puts the JSON-encoded row list as a
 * string inside `data` (`data[0]`), which must be decoded again; `[]` on the PBX's 2 s timeout.
 * Row objects given directly are accepted too.
 */
export function legacyRows(data: unknown): unknown[] {
  const rows: unknown[] = [];
  expectMapOrList(data, 'data').forEach((item, i) => {
    if (typeof item !== 'string') {
      rows.push(item);
      return;
    }
    if (item.trim() === '') return;
    let decoded: unknown;
    try {
      decoded = JSON.parse(item);
    } catch {
      throw new ShapeError(`data[${i}]`, 'expected a JSON-encoded list of calls, got a string that is not JSON');
    }
    rows.push(...expectMapOrList(decoded, `data[${i}] (decoded)`));
  });
  return rows;
}

/** `cdr/getActiveCalls`: call legs without channel names, including ended legs of running calls. */
export function parseLegacyActiveCalls(data: unknown): ActiveLeg[] {
  return parseActiveCallRows(legacyRows(data));
}

/** `cdr/getActiveChannels`: live legs with channel names (same columns as v3, without names). */
export function parseLegacyActiveChannels(data: unknown): ActiveLeg[] {
  return parseActiveChannels(legacyRows(data));
}
