// What the AMI actions return, parsed at the edge (field names: mikopbx-monitoring-sources.md §2.4,
// formats: Asterisk 20/22 apps/app_queue.c and main/manager.c). Nothing past the parsers sees a frame.

/** Asterisk device states (enum ast_device_state), by the number QueueMember's Status carries. */
export const DEVICE_STATES = ['unknown', 'not_inuse', 'inuse', 'busy', 'invalid', 'unavailable', 'ringing', 'ringinuse', 'onhold'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** One QueueSummary event. */
export interface QueueSummaryEntry {
  queue: string;
  /** Members whose device is neither unavailable nor invalid (paused ones included). */
  loggedIn: number;
  /** Logged-in members that are not paused and whose device is idle (not in use) or unknown. */
  available: number;
  /** Callers waiting in the queue now. */
  callers: number;
  /** Asterisk's running average of the hold time, seconds ((3 × old + new) / 4 per answered call). */
  holdTime: number;
  /** Asterisk's running average of the talk time, seconds (the same weighting, per completed call). */
  talkTime: number;
  /** How long the caller waiting longest has waited, seconds (0 with nobody waiting). */
  longestHoldTime: number;
}

/** One QueueParams event: the queue's configuration and statistics since its last reset. */
export interface QueueParams {
  queue: string;
  /** maxlen: 0 = unlimited. */
  max: number;
  strategy: string;
  /** Callers waiting now. */
  calls: number;
  holdtime: number;
  talktime: number;
  /** Calls answered and ended, since Asterisk started or the queue's statistics were reset. */
  completed: number;
  /** Callers who hung up while waiting, since the same point. */
  abandoned: number;
  /** The service level threshold, seconds. */
  serviceLevel: number;
  /** Percent (0..100, one decimal) of completed calls answered within the service level. */
  serviceLevelPerf: number;
  /** The same, counting abandoned calls (within the level) as well; null where Asterisk does not send it. */
  serviceLevelPerf2: number | null;
  weight: number;
}

/** One QueueMember event. */
export interface QueueMemberStatus {
  queue: string;
  /** MemberName: the extension number on MikoPBX (its members are static `Local/<ext>@internal/n`). */
  name: string;
  /** The interface called (Location). */
  location: string;
  stateInterface: string;
  membership: 'static' | 'dynamic' | 'realtime' | 'other';
  penalty: number;
  callsTaken: number;
  /** Unix time of the member's last queue call; 0 = never. */
  lastCall: number;
  /** Unix time of the last pause; null where Asterisk does not send it (older builds). */
  lastPause: number | null;
  loginTime: number | null;
  /** On a queue call now. */
  inCall: boolean;
  status: DeviceState;
  paused: boolean;
  pausedReason: string;
  wrapupTime: number | null;
}

/** One QueueEntry event: a caller waiting. */
export interface QueueEntry {
  queue: string;
  position: number;
  channel: string;
  uniqueid: string;
  callerIdNum: string;
  callerIdName: string;
  connectedLineNum: string;
  connectedLineName: string;
  /** Seconds waited so far. */
  wait: number;
  priority: number;
}

export interface QueueStatus {
  queues: QueueParams[];
  members: QueueMemberStatus[];
  entries: QueueEntry[];
}

/** CoreStatus. Dates and times are the PBX's local wall clock, without a zone. */
export interface CoreStatus {
  startupDate: string;
  startupTime: string;
  reloadDate: string;
  reloadTime: string;
  currentCalls: number;
  /** Calls processed since Asterisk started; null before Asterisk 20.12 / 22.2, which do not send it. */
  processedCalls: number | null;
}

export interface CoreSettings {
  amiVersion: string;
  asteriskVersion: string;
  systemName: string;
  maxCalls: number;
  maxLoadAvg: number;
  runUser: string;
  runGroup: string;
  maxFileHandles: number;
  realtimeEnabled: boolean;
  cdrEnabled: boolean;
  httpEnabled: boolean;
}
