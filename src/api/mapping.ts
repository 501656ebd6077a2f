import type { PeerStatus, ProviderState } from './types.js';

// Status vocabularies differ by version and even within one payload (mikopbx-api.md §4, §7.5):
// everything is compared case-insensitively and anything unrecognised becomes 'unknown',
// never a new label value. stateText/stateDescription are localised and never parsed.

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
