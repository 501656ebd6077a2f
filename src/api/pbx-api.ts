import type { AdviceList, BansByJail, StorageUsage } from './health-types.js';
import type { QueueConfig } from './v3-queues.js';
import type { ActiveCallsSnapshot, ApiGeneration, CdrPage, Extension, Provider } from './types.js';

export interface CdrPageRequest {
  /** Only legs with id greater than this. */
  afterId: number;
  limit: number;
}

export interface CdrNewest {
  id: number;
  linkedid: string | null;
}

/** Reads completed call legs in id order. Absent where the PBX generation has no CDR endpoint. */
export interface CdrSource {
  /** The newest CDR leg right now (one cheap request); id 0 and no linkedid if the table is empty. */
  newest(): Promise<CdrNewest>;
  page(req: CdrPageRequest): Promise<CdrPage>;
}

/** PBX health endpoints (v3 only), one cheap cached request each. */
export interface HealthSource {
  /** null while the PBX has not measured its disk yet. */
  storageUsage(): Promise<StorageUsage | null>;
  adviceList(): Promise<AdviceList>;
  bannedIps(): Promise<BansByJail>;
  /** The PBX clock, Unix seconds (whole: the PBX truncates). */
  clock(): Promise<number>;
}

/**
 * What the collectors need from a PBX, whatever its API generation. Each method is one bulk
 * request: nothing here fans out per extension or per trunk.
 */
export interface PbxApi {
  readonly generation: ApiGeneration;
  getExtensions(): Promise<Extension[]>;
  getProviders(): Promise<Provider[]>;
  getActiveCalls(): Promise<ActiveCallsSnapshot>;
  readonly cdr: CdrSource | undefined;
  readonly health: HealthSource | undefined;
  /** The PBX's UTC offset in minutes, once an answer has said it (v3 envelopes do); null before. */
  utcOffsetMinutes?(): number | null;
  /** The call queues' configuration (names for AMI queue metrics); v3 only. */
  callQueues?(): Promise<QueueConfig[]>;
}
