import { ShapeError } from './errors.js';
import { ADVICE_LEVELS, type AdviceEntry, type AdviceLevel, type AdviceList, type BansByJail, type StorageUsage } from './health-types.js';
import { expectArray, expectInteger, expectObject, expectString, isObject, optionalNumber, type JsonObject } from './validate.js';

const MIB = 1024 * 1024;
// Label values from the PBX are names from its code, never free text: anything else is dropped
// (categories, jails) or counted as `other` (templates), so a label never carries an IP or a message.
const SAFE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TEMPLATE = /^adv_[A-Za-z0-9_]{1,80}$/;

function megabytes(v: unknown, path: string): number {
  const n = optionalNumber(v, path);
  if (n === null) throw new ShapeError(path, 'expected a size in MB');
  return Math.round(n * MIB);
}

/** storage:usage; null for the placeholder the PBX answers before its first measurement. */
export function parseStorageUsage(data: unknown): StorageUsage | null {
  const d = expectObject(data, 'data');
  if (d.pending === true) return null;
  const sizeBytes = megabytes(d.total_size, 'data.total_size');
  const usedBytes = megabytes(d.used_space, 'data.used_space');
  const freeBytes = megabytes(d.free_space, 'data.free_space');
  const categories = new Map<string, number>();
  const raw = d.categories;
  // An empty PHP map arrives as [].
  if (raw !== undefined && !(Array.isArray(raw) && raw.length === 0)) {
    for (const [name, value] of Object.entries(expectObject(raw, 'data.categories'))) {
      if (!SAFE_NAME.test(name)) continue;
      categories.set(name, megabytes(expectObject(value, `data.categories.${name}`).size, `data.categories.${name}.size`));
    }
  }
  let s3: StorageUsage['s3'] = null;
  const remote = d.remote_storage;
  if (isObject(remote) && isObject(remote.s3)) {
    const s = remote.s3;
    s3 = { enabled: s.enabled === true || s.enabled === '1' || s.enabled === 1, bytes: megabytes(s.size ?? 0, 'data.remote_storage.s3.size') };
  }
  return { sizeBytes, usedBytes, freeBytes, categories, s3 };
}

/** advice:getList. */
export function parseAdviceList(data: unknown): AdviceList {
  const d = expectObject(data, 'data');
  const advice = d.advice;
  const entries: AdviceEntry[] = [];
  let updateVersion: string | null = null;
  if (Array.isArray(advice) && advice.length === 0) return { entries, updateVersion };
  const byLevel: JsonObject = expectObject(advice, 'data.advice');
  for (const level of ADVICE_LEVELS) {
    const list = byLevel[level];
    if (list === undefined || list === null) continue;
    const items = isObject(list) ? Object.values(list) : expectArray(list, `data.advice.${level}`);
    items.forEach((item, i) => {
      const path = `data.advice.${level}[${i}]`;
      const tpl = expectString(expectObject(item, path).messageTpl, `${path}.messageTpl`);
      entries.push({ level: level as AdviceLevel, template: TEMPLATE.test(tpl) ? tpl : 'other' });
      if (tpl === 'adv_AvailableNewVersionPBX') {
        const params = (item as JsonObject).messageParams;
        const ver = isObject(params) && typeof params.ver === 'string' ? params.ver : '';
        // A version string, never free text: digits and dots (2026.2.118).
        updateVersion = /^[0-9][0-9A-Za-z.+-]{0,31}$/.test(ver) ? ver : 'unknown';
      }
    });
  }
  return { entries, updateVersion };
}

/** firewall:getBannedIps: active bans counted by jail, never by IP. */
export function parseBannedIps(data: unknown): BansByJail {
  const bans: BansByJail = new Map();
  if (Array.isArray(data) && data.length === 0) return bans;
  for (const [ip, value] of Object.entries(expectObject(data, 'data'))) {
    const entry = expectObject(value, `data[${JSON.stringify(ip)}]`);
    const seen = new Set<string>();
    expectArray(entry.bans ?? [], `data[${JSON.stringify(ip)}].bans`).forEach((ban, i) => {
      const raw = expectString(expectObject(ban, `data[${JSON.stringify(ip)}].bans[${i}]`).jail, `data[${JSON.stringify(ip)}].bans[${i}].jail`);
      const jail = raw.endsWith('_v2') ? raw.slice(0, -3) : raw;
      if (!SAFE_NAME.test(jail) || seen.has(jail)) return; // one IP counts once per jail
      seen.add(jail);
      bans.set(jail, (bans.get(jail) ?? 0) + 1);
    });
  }
  return bans;
}

/** system:datetime: the PBX clock in Unix seconds. */
export function parseDatetime(data: unknown): number {
  const d = expectObject(data, 'data');
  const ts = expectInteger(d.timestamp, 'data.timestamp');
  if (ts <= 0) throw new ShapeError('data.timestamp', `expected a Unix time, got ${ts}`);
  return ts;
}
