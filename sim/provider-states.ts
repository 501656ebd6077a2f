// Provider state strings: PBX casing per registration type (mikopbx-api.md §4) and the contract mapping.

import type { Provider, ProviderStateNorm } from './types.js';
import { PROVIDER_STATES } from './types.js';

const KNOWN = new Set<string>(PROVIDER_STATES);

/** contract mapping: case-insensitive, unrecognised -> unknown */
export function normalizeProviderState(raw: string): ProviderStateNorm {
  const lower = raw.toLowerCase();
  return KNOWN.has(lower) ? (lower as ProviderStateNorm) : 'unknown';
}

/** v3 raw state a provider of this kind reports for a contract state (input case-insensitive). */
export function rawV3State(p: Pick<Provider, 'type' | 'registration_type'>, state: string): string {
  const lower = state.toLowerCase();
  if (lower === 'off') return 'OFF';
  if (!KNOWN.has(lower)) return state; // unrecognised states pass through verbatim
  if (lower === 'ok') return 'OK';
  if (lower === 'unknown') return 'UNKNOWN';
  if (p.type === 'sip' && p.registration_type === 'inbound') return lower.toUpperCase();
  return lower;
}

const SUCCESS = new Set(['registered', 'ok']);

export function isSuccessState(raw: string): boolean {
  return SUCCESS.has(raw.toLowerCase());
}

/** legacy (and v3) `sip:getRegistry` state */
export function legacySipRegistryState(p: Provider): string {
  if (p.legacyState !== undefined) return p.legacyState;
  if (p.disabled) return 'OFF';
  const lower = p.state.toLowerCase();
  if (!KNOWN.has(lower)) return p.state.toUpperCase();
  if (p.registration_type === 'outbound') {
    // strtoupper(PJSIP outbound registration Status): Registered / Unregistered / Rejected only
    if (lower === 'registered') return 'REGISTERED';
    if (lower === 'rejected') return 'REJECTED';
    return 'UNREGISTERED';
  }
  const ok = lower === 'registered' || lower === 'ok';
  if (p.registration_type === 'inbound') return ok ? 'REGISTERED' : 'UNKNOWN';
  return ok ? 'OK' : 'UNKNOWN';
}

/** legacy (and v3) `iax:getRegistry` state: raw AMI strings */
export function legacyIaxRegistryState(p: Provider): string {
  if (p.legacyState !== undefined) return p.legacyState;
  if (p.disabled) return 'OFF';
  const lower = p.state.toLowerCase();
  if (p.registration_type === 'none') {
    if (lower === 'ok' || lower === 'registered') return 'OK';
    if (lower === 'unreachable') return 'UNREACHABLE';
    if (lower === 'lagged') return 'LAGGED';
    return 'UNKNOWN';
  }
  switch (lower) {
    case 'registered':
    case 'ok':
      return 'Registered';
    case 'rejected':
      return 'Rejected';
    case 'unregistered':
      return 'Request Sent';
    case 'unreachable':
    case 'lagged':
      return 'Timeout';
    default:
      return 'Error register.';
  }
}

/** state the exporter must report for this provider in the given API generation */
export function truthProviderState(p: Provider, mode: 'v3' | 'legacy'): ProviderStateNorm {
  if (mode === 'v3') return p.disabled ? 'off' : normalizeProviderState(p.state);
  if (p.type === 'sip') return normalizeProviderState(legacySipRegistryState(p));
  return truthLegacyIaxState(legacyIaxRegistryState(p), p.registration_type === 'none');
}

/**
 * What MikoPBX 2026.1 itself makes of a legacy IAX string (normalizeIaxState / normalizeIaxRegState):
 * a registering peer that is neither `Registered` nor `Rejected` (`Request Sent`, `Timeout`,
 * `Error register.`…) is not registered, not "unknown".
 */
function truthLegacyIaxState(raw: string, noregister: boolean): ProviderStateNorm {
  const upper = raw.toUpperCase();
  if (upper === 'OFF') return 'off';
  if (noregister) {
    if (upper === 'OK') return 'ok';
    if (upper === 'UNREACHABLE') return 'unreachable';
    if (upper === 'LAGGED') return 'lagged';
    return 'unknown';
  }
  if (upper === 'REGISTERED') return 'registered';
  if (upper === 'REJECTED') return 'rejected';
  return 'unregistered';
}

export function stateText(raw: string): { text: string; color: string; description: string } {
  const lower = raw.toLowerCase();
  switch (lower) {
    case 'registered':
      return { text: 'Registered', color: 'green', description: 'Provider successfully registered and ready to work' };
    case 'ok':
      return { text: 'Online', color: 'green', description: 'Provider is reachable and ready to work' };
    case 'off':
      return { text: 'Disabled', color: 'grey', description: 'Provider disabled by administrator' };
    case 'rejected':
      return { text: 'Rejected', color: 'grey', description: 'Provider registration rejected by server' };
    case 'unregistered':
      return { text: 'Not registered', color: 'grey', description: 'Provider is not registered' };
    case 'unreachable':
      return { text: 'Unreachable', color: 'yellow', description: 'Provider does not answer qualify requests' };
    case 'lagged':
      return { text: 'Lagged', color: 'yellow', description: 'Provider answers slowly' };
    default:
      return { text: 'Unknown', color: 'grey', description: 'Provider state is unknown' };
  }
}
