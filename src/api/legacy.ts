import type { Logger } from 'pino';
import { parseData, type Envelope } from './envelope.js';
import { PbxApiError } from './errors.js';
import { LegacySession, type LegacyCredentials } from './legacy-auth.js';
import { unwrapLegacy } from './legacy-envelope.js';
import { parseLegacyActiveCalls, parseLegacyActiveChannels, parseLegacyPeers, parseLegacyRegistry } from './legacy-parse.js';
import type { PbxApi } from './pbx-api.js';
import type { RequestSpec, Transport } from './transport.js';
import type { ActiveCallsSnapshot, Extension, Provider } from './types.js';

export const LEGACY = {
  peers: '/pbxcore/api/sip/getPeersStatuses',
  sipRegistry: '/pbxcore/api/sip/getRegistry',
  iaxRegistry: '/pbxcore/api/iax/getRegistry',
  activeChannels: '/pbxcore/api/cdr/getActiveChannels',
  activeCalls: '/pbxcore/api/cdr/getActiveCalls',
} as const;

/** Legacy API (MikoPBX ≤ 2024.x): web-admin session cookie, `/pbxcore/api/{controller}/{action}`. */
export class LegacyClient {
  readonly session: LegacySession;

  constructor(transport: Transport, creds: LegacyCredentials | undefined, log?: Logger) {
    this.session = new LegacySession(transport, creds, log);
  }

  async get(path: string, query?: RequestSpec['query']): Promise<Envelope> {
    const res = await this.session.send({ path, ...(query ? { query } : {}) });
    return unwrapLegacy(res);
  }
}

/**
 * Same domain objects as the v3 adapter, from the legacy endpoints. Three or four requests per
 * status poll, never one per extension or trunk. No CDR: the legacy core has no CDR endpoint, and
 * the one module endpoint (ModulePT1CCore `cdr/get_data`) does not qualify (docs/legacy.md).
 */
export class LegacyApi implements PbxApi {
  readonly generation = 'legacy' as const;
  readonly cdr = undefined;
  readonly health = undefined;
  /** Set when the PBX has no getActiveChannels (very old builds): use getActiveCalls instead. */
  private channelsMissing = false;

  constructor(readonly client: LegacyClient) {}

  async getExtensions(): Promise<Extension[]> {
    const env = await this.client.get(LEGACY.peers);
    return parseData(LEGACY.peers, () => parseLegacyPeers(env.data));
  }

  async getProviders(): Promise<Provider[]> {
    const sip = await this.client.get(LEGACY.sipRegistry);
    const sipProviders = parseData(LEGACY.sipRegistry, () => parseLegacyRegistry(sip.data, 'sip'));
    const iax = await this.client.get(LEGACY.iaxRegistry);
    const iaxProviders = parseData(LEGACY.iaxRegistry, () => parseLegacyRegistry(iax.data, 'iax'));
    const byId = new Map<string, Provider>();
    for (const p of [...sipProviders, ...iaxProviders]) byId.set(p.id, p);
    return [...byId.values()];
  }

  async getActiveCalls(): Promise<ActiveCallsSnapshot> {
    // getActiveChannels lists only live legs and names their channels, which decide direction,
    // trunk and the in-call correction of UNKNOWN peers; getActiveCalls is the fallback.
    if (!this.channelsMissing) {
      try {
        const env = await this.client.get(LEGACY.activeChannels);
        return { legs: parseData(LEGACY.activeChannels, () => parseLegacyActiveChannels(env.data)), hasChannels: true };
      } catch (e) {
        if (!(e instanceof PbxApiError && e.kind === 'not-found')) throw e;
        this.channelsMissing = true;
      }
    }
    const env = await this.client.get(LEGACY.activeCalls);
    return { legs: parseData(LEGACY.activeCalls, () => parseLegacyActiveCalls(env.data)), hasChannels: false };
  }
}
