// Domain types: what the collectors see. Everything here has been validated and normalised
// at the API edge; no raw MikoPBX JSON goes past the client.

export type ApiGeneration = 'v3' | 'legacy';

export const PEER_STATUSES = ['available', 'unavailable', 'unknown'] as const;
export type PeerStatus = (typeof PEER_STATUSES)[number];

export interface Extension {
  number: string;
  /** Caller id / employee name; '' if unknown. */
  name: string;
  status: PeerStatus;
  /**
   * Legacy reports a phone in a call as UNKNOWN; the peers collector promotes such an extension
   * to available when it has a live channel.
   */
  correctableByLiveChannel: boolean;
  /** Best device round-trip time, where the PBX reports one. */
  rttSeconds: number | null;
  /** Registered contacts, where the PBX reports them. */
  devices: number | null;
}

export const PROVIDER_STATES = ['registered', 'unregistered', 'rejected', 'unreachable', 'lagged', 'ok', 'off', 'unknown'] as const;
export type ProviderState = (typeof PROVIDER_STATES)[number];

export type ProviderProtocol = 'sip' | 'iax';

export interface Provider {
  id: string;
  /** Human description of the trunk; '' if none. */
  name: string;
  protocol: ProviderProtocol;
  host: string;
  username: string;
  state: ProviderState;
  rttSeconds: number | null;
  /** Unix seconds the current state began, where reported. */
  stateSince: number | null;
}

/** One leg of a call in progress. */
export interface ActiveLeg {
  linkedid: string;
  /** Asterisk channel names (e.g. PJSIP/SIP-TRUNK-3F9A1C7B-0000012a); null where the endpoint gives none. */
  srcChannel: string | null;
  dstChannel: string | null;
  srcNum: string;
  dstNum: string;
  /** Leg already hung up while its call still runs (getActiveCalls keeps such rows). */
  ended: boolean;
}

export interface ActiveCallsSnapshot {
  legs: ActiveLeg[];
  /** True when legs carry channel names (direction by channel), false when only numbers are known. */
  hasChannels: boolean;
}

/** One CDR leg (a row of cdr_general), times already converted to Unix seconds. */
export interface CdrLeg {
  id: number;
  linkedid: string;
  start: number;
  answer: number | null;
  end: number | null;
  srcChannel: string;
  dstChannel: string;
  srcNum: string;
  dstNum: string;
  fromAccount: string;
  toAccount: string;
  disposition: string;
  duration: number;
  billsec: number;
}

export interface CdrPage {
  legs: CdrLeg[];
  hasMore: boolean;
  /** Highest id on the page (or the cursor when empty). */
  lastId: number;
  /** PBX UTC offset in minutes, from the response meta.timestamp. */
  utcOffsetMinutes: number;
}
