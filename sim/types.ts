// Shared types of the MikoPBX simulator.

export type ApiMode = 'v3' | 'legacy';

/** v3 `sip:getStatuses` status strings, exactly as the PBX sends them. */
export type ExtensionStatus = 'Available' | 'Unavailable' | 'Unknown';

export type ContactStatus = 'Reachable' | 'NonQualified' | 'Unreachable' | 'Unknown';

export interface Device {
  ip: string;
  port: number;
  user_agent: string;
  /** ms, 2 decimals, null when not qualified */
  rtt: number | null;
  country: string;
  countryName: string;
  /** WebRTC contact (endpoint `NNN-WS`) */
  webrtc: boolean;
  contactStatus: ContactStatus;
}

export interface Extension {
  number: string;
  callerid: string;
  email: string;
  mobile: string;
  status: ExtensionStatus;
  devices: Device[];
  /** disabled SIP accounts are hidden from every status endpoint, shown in employees with disabled:true */
  disabled: boolean;
  employeeId: number;
}

export type ProviderType = 'sip' | 'iax';
export type RegistrationType = 'outbound' | 'inbound' | 'none';

export interface Provider {
  id: string;
  type: ProviderType;
  registration_type: RegistrationType;
  /** raw v3 `providers:getStatuses` state in PBX casing (`registered`, `REGISTERED`, `OK`, `OFF`, ...) */
  state: string;
  disabled: boolean;
  host: string;
  username: string;
  description: string;
  port: number;
  transport: string;
  /** number dialled by callers coming in through this trunk */
  did: string;
  /** ms, integer, or null */
  rtt: number | null;
  /** unix seconds the current state began */
  stateStartTime: number;
  lastSuccessTime: number | null;
  /** verbatim state for legacy `sip/getRegistry` / `iax/getRegistry` (e.g. `Request Sent`); derived when absent */
  legacyState?: string;
}

export type CallScenario =
  | 'inbound'
  | 'inbound-queue'
  | 'outbound'
  | 'internal'
  | 'transfer'
  | 'busy'
  | 'cancel'
  | 'noanswer'
  | 'failed'
  | 'unknown-disposition'
  | 'long'
  | 'short-answer';

export const CALL_SCENARIOS: readonly CallScenario[] = [
  'inbound',
  'inbound-queue',
  'outbound',
  'internal',
  'transfer',
  'busy',
  'cancel',
  'noanswer',
  'failed',
  'unknown-disposition',
  'long',
  'short-answer',
];

export type Direction = 'inbound' | 'outbound' | 'internal';
export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'internal'];

/** contract disposition buckets */
export type DispositionBucket = 'answered' | 'noanswer' | 'busy' | 'cancel' | 'failed' | 'other';
export const DISPOSITION_BUCKETS: readonly DispositionBucket[] = ['answered', 'noanswer', 'busy', 'cancel', 'failed', 'other'];

/** contract extension status */
export type PeerStatus = 'available' | 'unavailable' | 'unknown';
export const PEER_STATUSES: readonly PeerStatus[] = ['available', 'unavailable', 'unknown'];

/** contract provider state */
export type ProviderStateNorm = 'registered' | 'unregistered' | 'rejected' | 'unreachable' | 'lagged' | 'ok' | 'off' | 'unknown';
export const PROVIDER_STATES: readonly ProviderStateNorm[] = ['registered', 'unregistered', 'rejected', 'unreachable', 'lagged', 'ok', 'off', 'unknown'];

/** One row of cdr_general, as stored (times as ms; strings rendered on output). */
export interface CdrRow {
  id: number;
  linkedid: string;
  uniqueid: string;
  startMs: number;
  answerMs: number | null;
  endMs: number;
  /** local `YYYY-MM-DD HH:MM:SS.mmm`, cached because filters compare it as a string */
  start: string;
  src_chan: string;
  src_num: string;
  src_name: string;
  dst_chan: string;
  dst_num: string;
  dst_name: string;
  did: string;
  disposition: string;
  dialstatus: string;
  from_account: string;
  to_account: string;
  transfer: string;
  is_app: string;
  appname: string;
  recorded: boolean;
  verbose_call_id: string;
  duration: number;
  billsec: number;
}

/** What a correct exporter reports for one completed call (from the simulator's own plan). */
export interface CompletedCall {
  linkedid: string;
  scenario: CallScenario;
  direction: Direction;
  provider: string | null;
  disposition: DispositionBucket;
  firstCdrId: number;
  lastCdrId: number;
  legs: number;
  startMs: number;
  endMs: number;
  /** first answer minus start, seconds; null when never answered */
  answerDelaySeconds: number | null;
  /** sum of the legs' billsec */
  talkSeconds: number;
}

export interface PeerTruth {
  status: PeerStatus;
  name: string;
  /** registered devices (contacts); null where the API does not report them (legacy) */
  devices: number | null;
  rttSeconds: number | null;
}

export interface ProviderTruth {
  protocol: ProviderType;
  name: string;
  host: string;
  username: string;
  state: ProviderStateNorm;
  registered: boolean;
  rttSeconds: number | null;
  stateSince: number | null;
}

export interface CdrTruth {
  afterId: number;
  maxId: number;
  /** CDR legs with id > afterId */
  records: number;
  callsTotal: number;
  calls: Record<Direction, Record<DispositionBucket, number>>;
  providerCalls: Record<string, Record<'inbound' | 'outbound', Record<DispositionBucket, number>>>;
  talkSeconds: Record<Direction, number>;
  /** unix seconds (ms precision) of the end of the leg with the highest id, null if none */
  lastRecordEndTimestamp: number | null;
}

export interface SimTruth {
  mode: ApiMode;
  /** simulator clock, unix ms */
  at: number;
  extensions: Record<PeerStatus, number>;
  peers: Record<string, PeerTruth>;
  providers: Record<string, ProviderTruth>;
  providersByState: Record<ProviderStateNorm, number>;
  activeCalls: Record<Direction, number>;
  activeCallsTotal: number;
  providerActiveCalls: Record<string, number>;
  activeChannels: number;
  cdr: CdrTruth;
}

export interface RequestLogEntry {
  /** unix ms */
  time: number;
  method: string;
  /** path without query */
  path: string;
  query: Record<string, string>;
  /** HTTP status, 0 when no response was sent (reset, hang, still running) */
  status: number;
  ip: string;
  authorized: boolean;
}

export interface SimStats {
  /** every POST /admin-cabinet/session/start */
  loginAttempts: number;
  /** wrong credentials or throttled */
  failedLogins: number;
  /** 401 answers (legacy and v3): what fail2ban would count as "Wrong password" */
  unauthenticatedRequests: number;
  /** 429 answers */
  rateLimited: number;
  /** requests to storage:list, GET storage, advice:refresh, license:resetKey: an exporter must never send these */
  forbiddenCalls: number;
}
