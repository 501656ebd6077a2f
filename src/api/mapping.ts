import type { PeerStatus, ProviderState } from './types.js';

// Status vocabularies differ by version and even within one payload (mikopbx-api.md §4, §7.5):
// everything is compared case-insensitively and anything unrecognised becomes 'unknown',
// never a new label value. stateText/stateDescription are localised and never parsed.

/** v3 extension status of a disabled extension: not an extension that mikopbx_sip_peers counts. */
export function isDisabledStatus(raw: string): boolean {
  return raw.trim().toUpperCase() === 'DISABLED';
}

export function v3PeerStatus(raw: string): PeerStatus {
  switch (raw.trim().toUpperCase()) {
    case 'AVAILABLE':
      return 'available';
    case 'UNAVAILABLE':
      return 'unavailable';
    default:
      return 'unknown';
  }
}

const PROVIDER_STATE_MAP: Record<string, ProviderState> = {
  REGISTERED: 'registered',
  UNREGISTERED: 'unregistered',
  REJECTED: 'rejected',
  UNREACHABLE: 'unreachable',
  LAGGED: 'lagged',
  OK: 'ok',
  OFF: 'off',
  UNKNOWN: 'unknown',
};

export function providerState(raw: string): ProviderState {
  return PROVIDER_STATE_MAP[raw.trim().toUpperCase()] ?? 'unknown';
}

export function isRegisteredState(s: ProviderState): boolean {
  return s === 'registered' || s === 'ok';
}

/**
 * Legacy `sip/getPeersStatuses` state: `OK` only for DeviceState Not in use / Busy, so a phone in a
 * call shows `UNKNOWN` too; the peers collector promotes it when it has a live channel (contract §4).
 */
export function legacyPeerStatus(raw: string): { status: PeerStatus; correctable: boolean } {
  switch (raw.trim().toUpperCase()) {
    case 'OK':
      return { status: 'available', correctable: false };
    case 'UNKNOWN':
      return { status: 'unavailable', correctable: true };
    default:
      return { status: 'unknown', correctable: false };
  }
}

/**
 * Legacy `iax/getRegistry` state, mapped exactly as v3's provider status code does
 * (AbstractProviderStatusAction::normalizeIaxState / normalizeIaxRegState), so a PBX reports the
 * same state before and after an upgrade:
 * - disabled: `OFF` → off, whatever the peer type;
 * - `noregister=1` peers (AMI IAXpeerlist status word): `OK` → ok, `UNREACHABLE` → unreachable,
 *   `LAGGED` → lagged, anything else (`UNKNOWN`, `UNMONITORED`: qualify off) → unknown;
 * - registering peers (raw AMI IAXregistry State): `Registered` → registered, `Rejected` → rejected,
 *   and every other state (`Request Sent`, `Auth. Sent`, `Timeout`, `No Authentication`,
 *   `Unregistered`, `Unknown`, and `Error register.` = no registry row at all) → unregistered:
 *   the trunk is not registered, which is what matters for alerting;
 * - `noregister` absent (unexpected): the generic case-insensitive provider mapping.
 */
export function legacyIaxState(raw: string, noregister: boolean | null): ProviderState {
  const s = raw.trim().toUpperCase();
  if (s === 'OFF') return 'off';
  if (noregister === true) {
    if (s === 'OK' || s === 'REACHABLE') return 'ok';
    if (s === 'UNREACHABLE') return 'unreachable';
    if (s === 'LAGGED') return 'lagged';
    return 'unknown';
  }
  if (noregister === false) {
    if (s === 'REGISTERED') return 'registered';
    if (s === 'REJECTED') return 'rejected';
    return 'unregistered';
  }
  return providerState(raw);
}
