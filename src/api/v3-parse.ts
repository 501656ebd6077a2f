import { isDisabledStatus, providerState, v3PeerStatus } from './mapping.js';
import type { Extension, Provider, ProviderProtocol } from './types.js';
import { expectArray, expectId, expectObject, isObject, optionalNumber, optionalString, expectString } from './validate.js';
import { ShapeError } from './errors.js';

// Pure parsers from v3 `data` payloads (mikopbx-api.md §2.4) to domain objects.

function entries(v: unknown, path: string): Array<[string, unknown]> {
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (isObject(v)) return Object.entries(v);
  throw new ShapeError(path, 'expected an object keyed by id or []');
}

/**
 * `sip:getStatuses` data: object keyed by extension number, `[]` when empty. Only enabled
 * extensions: MikoPBX filters disabled ones out, and should one still appear with the `Disabled`
 * status its code defines (AbstractExtensionStatusAction; mikopbx-api.md §4), it is skipped too.
 */
export function parseExtensionStatuses(data: unknown): Extension[] {
  const out: Extension[] = [];
  for (const [key, raw] of entries(data, 'data')) {
    try {
      const extension = parseExtension(key, raw);
      if (extension) out.push(extension);
    } catch (e) {
      // Paths are built only for the entry that is wrong, not for each of thousands of good ones.
      if (e instanceof ShapeError) throw new ShapeError(`data[${JSON.stringify(key)}]${e.path}`, e.message.slice(e.path.length + 2));
      throw e;
    }
  }
  return out;
}

function parseExtension(key: string, raw: unknown): Extension | null {
  const e = expectObject(raw, '');
  if (isDisabledStatus(expectString(e.status, '.status'))) return null;
  const number = e.extension !== undefined ? expectId(e.extension, '.extension') : key;
  const rttMs = optionalNumber(e.rtt, '.rtt');
  const devices = e.devices === undefined || e.devices === null ? null : expectArray(e.devices, '.devices').length;
  return {
    number,
    name: optionalString(e.callerid, '.callerid'),
    status: v3PeerStatus(expectString(e.status, '.status')),
    correctableByLiveChannel: false,
    rttSeconds: rttMs === null ? null : rttMs / 1000,
    devices,
  };
}

function parseProvider(raw: unknown, path: string, group: ProviderProtocol): Provider {
  const p = expectObject(raw, path);
  const type = optionalString(p.type, `${path}.type`).toLowerCase();
  const protocol: ProviderProtocol = type === 'iax' || type === 'sip' ? type : group;
  const rttMs = optionalNumber(p.rtt, `${path}.rtt`);
  const since = optionalNumber(p.stateStartTime, `${path}.stateStartTime`);
  return {
    id: expectId(p.id, `${path}.id`),
    name: optionalString(p.description, `${path}.description`),
    protocol,
    host: optionalString(p.host, `${path}.host`),
    username: optionalString(p.username, `${path}.username`),
    state: providerState(expectString(p.state, `${path}.state`)),
    rttSeconds: rttMs === null ? null : rttMs / 1000,
    stateSince: since !== null && since > 0 ? since : null,
  };
}

/**
 * `*providers:getStatuses` data: `{sip:{…}|[], iax:{…}|[]}`. The sip-/iax-/providers endpoints all
 * return this same combined payload, so one request covers both protocols; ids are deduplicated.
 */
export function parseProviderStatuses(data: unknown): Provider[] {
  const d = expectObject(data, 'data');
  const byId = new Map<string, Provider>();
  for (const group of ['sip', 'iax'] as const) {
    if (d[group] === undefined) continue;
    for (const [key, raw] of entries(d[group], `data.${group}`)) {
      const p = parseProvider(raw, `data.${group}[${JSON.stringify(key)}]`, group);
      byId.set(p.id, p);
    }
  }
  return [...byId.values()];
}
