import type { Provider } from '../api/types.js';

/**
 * The endpoint of an Asterisk channel name: `PJSIP/SIP-TRUNK-3F9A1C7B-0000012a` → `SIP-TRUNK-3F9A1C7B`,
 * `IAX2/IAX-TRUNK-7E6D5C4B-1234` → `IAX-TRUNK-7E6D5C4B`, `PJSIP/201-WS-0000001f` → `201-WS`.
 */
export function endpointOfChannel(channel: string): string {
  const slash = channel.indexOf('/');
  let rest = slash >= 0 ? channel.slice(slash + 1) : channel;
  const semi = rest.indexOf(';'); // Local/201@ctx-00000012;1
  if (semi >= 0) rest = rest.slice(0, semi);
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? rest.slice(0, dash) : rest;
}

/** The extension number behind an endpoint (`201-WS` is extension 201's WebRTC endpoint). */
export function extensionOfEndpoint(endpoint: string): string {
  return endpoint.endsWith('-WS') ? endpoint.slice(0, -3) : endpoint;
}

/** Recognises trunk endpoints: known provider ids, else MikoPBX's provider id prefixes. */
export class TrunkMatcher {
  private readonly ids: Set<string>;

  constructor(providers: readonly Provider[] | null) {
    this.ids = new Set((providers ?? []).map((p) => p.id));
  }

  providerOfChannel(channel: string | null): string | null {
    if (!channel) return null;
    return this.providerOfAccount(endpointOfChannel(channel));
  }

  /** A provider id as CDR `from_account`/`to_account` carry it (else an extension number or ''). */
  providerOfAccount(account: string): string | null {
    if (!account) return null;
    if (this.ids.has(account)) return account;
    return /^(SIP|IAX)-[A-Za-z0-9-]+$/.test(account) ? account : null;
  }
}
