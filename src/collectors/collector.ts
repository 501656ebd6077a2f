import type { Logger } from 'pino';
import type { PbxApi } from '../api/pbx-api.js';
import type { Provider } from '../api/types.js';

/** What collectors of one target share between runs (latest successful results only). */
export interface TargetSnapshot {
  /** Providers from the last successful providers run (identify trunk channels, zero idle trunks). */
  providers: Provider[] | null;
  /** Extension endpoints that had a live channel at the last successful calls run. */
  liveEndpoints: Set<string> | null;
  /** Extension numbers from the last successful peers run (direction when channels are unknown). */
  extensionNumbers: Set<string> | null;
}

export interface CollectContext {
  api: PbxApi;
  snapshot: TargetSnapshot;
  log: Logger;
  now: () => number;
}

/**
 * One subsystem of the PBX. `collect` must fetch and parse everything before it touches a metric,
 * then replace its whole series set synchronously, so a failed run leaves the previous values and
 * a deleted object's series disappear at the next successful run.
 */
export interface Collector {
  readonly name: string;
  collect(ctx: CollectContext): Promise<void>;
  /** The effective interval changed (the request budget stretched it): HELP texts say the new one. */
  setIntervalSeconds(seconds: number): void;
  /** Removes (false) or restores its series: a v3-only collector on a legacy PBX exports none. */
  setRegistered?(on: boolean): void;
  /** The API was detected again (after an outage, or a generation change): what it knew may be stale. */
  apiRedetected?(): void;
}
