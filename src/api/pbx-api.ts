import type { ActiveCallsSnapshot, ApiGeneration, CdrPage, Extension, Provider } from './types.js';

export interface CdrPageRequest {
  /** Only legs with id greater than this. */
  afterId: number;
  limit: number;
}

/** Reads completed call legs in id order. Absent where the PBX generation has no CDR endpoint. */
export interface CdrSource {
  /** The newest CDR leg id right now (one cheap request); 0 if the table is empty. */
  newestId(): Promise<number>;
  page(req: CdrPageRequest): Promise<CdrPage>;
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
}
