import { parseData, type Envelope } from './envelope.js';
import { unwrapV3 } from './v3-envelope.js';
import type { CdrSource, HealthSource, PbxApi } from './pbx-api.js';
import type { AdviceList, BansByJail, StorageUsage } from './health-types.js';
import { parseAdviceList, parseBannedIps, parseDatetime, parseStorageUsage } from './v3-health-parse.js';
import type { RequestSpec, Transport } from './transport.js';
import type { ActiveCallsSnapshot, Extension, Provider } from './types.js';
import { utcOffsetMinutesOf } from './time.js';
import { V3CdrSource } from './v3-cdr.js';
import { CALL_QUEUES_PATH, parseCallQueues, type QueueConfig } from './v3-queues.js';
import { parseActiveChannels } from './calls-parse.js';
import { parseExtensionStatuses, parseProviderStatuses } from './v3-parse.js';

export const V3 = {
  ping: '/pbxcore/api/v3/system:ping',
  extensions: '/pbxcore/api/v3/sip:getStatuses',
  providers: '/pbxcore/api/v3/sip-providers:getStatuses',
  activeChannels: '/pbxcore/api/v3/pbx-status:getActiveChannels',
  cdr: '/pbxcore/api/v3/cdr',
  // Health: each reads a cache on the PBX. Never storage:list or GET /storage (they run df and
  // may mount partitions), nor advice:refresh (clears the caches): mikopbx-monitoring-sources.md §0.2, 1.2.
  storageUsage: '/pbxcore/api/v3/storage:usage',
  advice: '/pbxcore/api/v3/advice:getList',
  bannedIps: '/pbxcore/api/v3/firewall:getBannedIps',
  datetime: '/pbxcore/api/v3/system:datetime',
} as const;

/** v3 API (MikoPBX 2025.1+): Bearer API key, `/pbxcore/api/v3/...`, errors by HTTP status. */
export class V3Client {
  /** The PBX's UTC offset, from the meta.timestamp of its last answer that had one. */
  utcOffsetMinutes: number | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly apiKey: string | undefined,
  ) {}

  async get(path: string, query?: RequestSpec['query']): Promise<Envelope> {
    // Without a key MikoPBX only lets 127.0.0.1 in; sending an empty Bearer would break that.
    const headers: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    const res = await this.transport.send({ path, headers, ...(query ? { query } : {}) });
    const env = unwrapV3(res, { keyConfigured: this.apiKey !== undefined });
    const offset = env.timestamp === undefined ? null : utcOffsetMinutesOf(env.timestamp);
    if (offset !== null) this.utcOffsetMinutes = offset;
    return env;
  }
}

export class V3Api implements PbxApi {
  readonly generation = 'v3' as const;
  readonly cdr: CdrSource;
  readonly health: HealthSource;

  constructor(readonly client: V3Client) {
    this.cdr = new V3CdrSource((path, query) => client.get(path, query));
    this.health = new V3HealthSource(client);
  }

  async getExtensions(): Promise<Extension[]> {
    const env = await this.client.get(V3.extensions);
    return parseData(V3.extensions, () => parseExtensionStatuses(env.data));
  }

  async getProviders(): Promise<Provider[]> {
    const env = await this.client.get(V3.providers);
    return parseData(V3.providers, () => parseProviderStatuses(env.data));
  }

  async getActiveCalls(): Promise<ActiveCallsSnapshot> {
    // getActiveChannels, not getActiveCalls: it lists only live legs and carries channel names,
    // which decide direction and trunk (mikopbx-api.md §7.8).
    const env = await this.client.get(V3.activeChannels);
    return { legs: parseData(V3.activeChannels, () => parseActiveChannels(env.data)), hasChannels: true };
  }

  utcOffsetMinutes(): number | null {
    return this.client.utcOffsetMinutes;
  }

  async callQueues(): Promise<QueueConfig[]> {
    const env = await this.client.get(CALL_QUEUES_PATH);
    return parseData(CALL_QUEUES_PATH, () => parseCallQueues(env.data));
  }
}

/** The v3 health endpoints (system collector). */
export class V3HealthSource implements HealthSource {
  constructor(private readonly client: V3Client) {}

  async storageUsage(): Promise<StorageUsage | null> {
    const env = await this.client.get(V3.storageUsage);
    return parseData(V3.storageUsage, () => parseStorageUsage(env.data));
  }

  async adviceList(): Promise<AdviceList> {
    const env = await this.client.get(V3.advice);
    return parseData(V3.advice, () => parseAdviceList(env.data));
  }

  async bannedIps(): Promise<BansByJail> {
    const env = await this.client.get(V3.bannedIps);
    return parseData(V3.bannedIps, () => parseBannedIps(env.data));
  }

  async clock(): Promise<number> {
    const env = await this.client.get(V3.datetime);
    return parseData(V3.datetime, () => parseDatetime(env.data));
  }
}
