// v3 CDR actions: GET /cdr (GetListAction), cdr:getMetadata, cdr:getStatsByProvider.
// Dates are compared as strings against the local `start`, exactly like the SQL does.

import type { PbxModel } from './model.js';
import { renderCdrRow } from './cdr-table.js';
import type { ApiResult } from './http-types.js';
import { paramString, phpBool, phpIntval } from './http-types.js';
import type { CdrRow } from './types.js';

const LIST_PROCESSOR = 'MikoPBX\\PBXCoreREST\\Lib\\Cdr\\GetListAction::main';
const SORT_FIELDS = ['id', 'start', 'linkedid', 'src_num', 'dst_num', 'did', 'disposition', 'duration', 'billsec'] as const;
type SortField = (typeof SORT_FIELDS)[number];

class ValidationError extends Error {}

function fail(fn: string, processor: string, message: string): ApiResult {
  return { result: false, data: [], messages: { error: [message] }, function: fn, processor, httpCode: 422 };
}

function normalizeDates(from: string | null, to: string | null): [string | null, string | null] {
  return [from !== null && from.length === 10 ? `${from} 00:00:00` : from, to !== null && to.length === 10 ? `${to} 23:59:59` : to];
}

/** PHP: new DateTime() both, then diff()->days */
function checkRange(model: PbxModel, from: string, to: string, requireOrder: boolean): void {
  const a = model.clock.parsePhpDate(from);
  const b = model.clock.parsePhpDate(to);
  if (a === null || b === null) throw new ValidationError('Invalid date format. Expected: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS');
  if (requireOrder && a > b) throw new ValidationError('dateFrom must be before dateTo.');
  if (Math.floor(Math.abs(b - a) / 86_400_000) > 365) {
    throw new ValidationError('Date range exceeds maximum allowed (365 days). Please narrow your search criteria.');
  }
}

const like = (value: string, needle: string): boolean => value.toLowerCase().includes(needle.toLowerCase());

function sortValue(row: CdrRow, field: SortField): string | number {
  return row[field];
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function cdrList(model: PbxModel, params: Record<string, unknown>): ApiResult {
  const fn = 'getList';
  try {
    const limit = Math.min(Math.max(1, phpIntval(params.limit ?? 50)), 1000);
    const offset = phpIntval(params.offset ?? 0);
    if (offset < 0) throw new ValidationError(`Invalid offset value: ${offset}. Offset must be non-negative.`);
    const idFrom = params.idFrom !== undefined && params.idFrom !== null ? phpIntval(params.idFrom) : null;
    const str = (k: string): string | null => (typeof params[k] === 'string' ? (params[k] as string) : null);
    let [dateFrom, dateTo] = normalizeDates(str('dateFrom'), str('dateTo'));
    const srcNum = str('src_num');
    const dstNum = str('dst_num');
    const disposition = str('disposition');
    const did = str('did');
    const linkedid = str('linkedid');
    const search = str('search');
    if (dateFrom !== null && dateTo !== null) checkRange(model, dateFrom, dateTo, false);
    if (dateFrom === null && dateTo === null && linkedid === null && srcNum === null && dstNum === null && search === null && did === null) {
      const now = model.clock.now();
      dateTo = `${model.clock.localDate(now)} 23:59:59`;
      dateFrom = `${model.clock.localDate(now - 30 * 86_400_000)} 00:00:00`;
    }
    const requestedSort = paramString(params, 'sort') ?? 'id';
    const sortField: SortField = (SORT_FIELDS as readonly string[]).includes(requestedSort) ? (requestedSort as SortField) : 'id';
    const orderRaw = (paramString(params, 'order') ?? 'DESC').toUpperCase();
    const desc = orderRaw !== 'ASC';
    const grouped = params.grouped === undefined || params.grouped === null || phpBool(params.grouped);

    let searchNumbers: Set<string> | null = null;
    const searchTrim = search?.trim() ?? '';
    if (searchTrim !== '') {
      searchNumbers = new Set();
      for (const e of model.extensions()) {
        const index = `${e.number} ${e.callerid} ${e.email} ${e.mobile}`;
        if (like(index, searchTrim)) searchNumbers.add(e.number);
      }
    }

    model.sync();
    const table = model.cdr;
    const source: readonly CdrRow[] = linkedid !== null ? table.legsOf(linkedid) : table.rows;
    const startIndex = linkedid === null && idFrom !== null ? table.indexAfter(idFrom) : 0;
    const matches = (r: CdrRow): boolean =>
      (idFrom === null || r.id > idFrom) &&
      (dateFrom === null || r.start >= dateFrom) &&
      (dateTo === null || r.start <= dateTo) &&
      (searchNumbers === null ||
        like(r.src_num, searchTrim) ||
        like(r.dst_num, searchTrim) ||
        like(r.did, searchTrim) ||
        searchNumbers.has(r.src_num) ||
        searchNumbers.has(r.dst_num)) &&
      (srcNum === null || like(r.src_num, srcNum)) &&
      (dstNum === null || like(r.dst_num, dstNum)) &&
      (disposition === null || r.disposition === disposition) &&
      (did === null || like(r.did, did));
    const filtered: CdrRow[] = [];
    table.lastScanned = source.length - startIndex;
    for (let i = startIndex; i < source.length; i++) {
      const r = source[i] as CdrRow;
      if (matches(r)) filtered.push(r);
    }
    const dir = desc ? -1 : 1;
    const legOrder = (a: CdrRow, b: CdrRow): number => dir * compare(sortValue(a, sortField), sortValue(b, sortField)) || a.id - b.id;

    let records: unknown[];
    let total: number;
    let lastId: number | null = null;
    if (grouped) {
      const maxSort = new Map<string, string | number>();
      for (const r of filtered) {
        const v = sortValue(r, sortField);
        const cur = maxSort.get(r.linkedid);
        if (cur === undefined || compare(v, cur) > 0) maxSort.set(r.linkedid, v);
      }
      total = maxSort.size;
      const page = [...maxSort.entries()]
        .sort((a, b) => dir * compare(a[1], b[1]) || compare(a[0], b[0]))
        .slice(offset, offset + limit)
        .map(([id]) => id);
      const legs = page.flatMap((id) => table.legsOf(id)).sort(legOrder);
      const groups = groupByLinkedId(legs);
      records = groups.map(({ legs: groupLegs, ...g }) => ({ ...g, records: groupLegs.map((l) => renderCdrRow(l, model.clock)) }));
      const lastGroup = groups[groups.length - 1];
      const lastLeg = lastGroup?.legs[lastGroup.legs.length - 1];
      lastId = lastLeg ? lastLeg.id : null;
    } else {
      total = filtered.length;
      if (sortField === 'id') {
        if (desc) filtered.reverse();
      } else {
        filtered.sort(legOrder);
      }
      const page = filtered.slice(offset, offset + limit);
      records = page.map((r) => renderCdrRow(r, model.clock));
      const last = page[page.length - 1];
      lastId = last ? last.id : null;
    }
    return {
      result: true,
      data: { records, pagination: { total, limit, offset, hasMore: offset + limit < total, lastId } },
      function: fn,
      processor: LIST_PROCESSOR,
    };
  } catch (e) {
    if (e instanceof ValidationError) return fail(fn, LIST_PROCESSOR, e.message);
    throw e;
  }
}

interface Group {
  linkedid: string;
  start: string;
  src_num: string;
  src_name: string;
  dst_num: string;
  dst_name: string;
  did: string;
  disposition: string;
  totalDuration: number;
  totalBillsec: number;
  legs: CdrRow[];
}

/** GetListAction::groupByLinkedId over legs already in sort order */
function groupByLinkedId(legs: CdrRow[]): Group[] {
  const groups = new Map<string, Group>();
  for (const r of legs) {
    let g = groups.get(r.linkedid);
    if (!g) {
      g = {
        linkedid: r.linkedid,
        start: r.start,
        src_num: r.src_num,
        src_name: r.src_name,
        dst_num: r.dst_num,
        dst_name: r.dst_name,
        did: r.did,
        disposition: r.disposition,
        totalDuration: 0,
        totalBillsec: 0,
        legs: [],
      };
      groups.set(r.linkedid, g);
    }
    if (r.start < g.start) {
      g.start = r.start;
      g.src_num = r.src_num;
      g.src_name = r.src_name;
    }
    if (r.did !== '') {
      g.dst_num = r.did;
      g.did = r.did;
    }
    g.totalDuration += r.duration;
    g.totalBillsec += r.billsec;
    if ((r.disposition === 'ANSWERED' || r.disposition === 'ANSWER') && g.disposition !== 'ANSWERED') g.disposition = 'ANSWERED';
    g.legs.push(r);
  }
  const out = [...groups.values()];
  for (const g of out) g.legs.sort((a, b) => compare(a.start, b.start)); // stable: ties keep sort order
  return out;
}

export function cdrMetadata(model: PbxModel, params: Record<string, unknown>): ApiResult {
  const limit = Math.min(phpIntval(params.limit ?? 100), 1000);
  model.sync();
  const rows = model.cdr.rows;
  // newest `limit` starts; SQLite LIMIT < 0 means no limit
  const k = limit < 0 ? rows.length : limit;
  const top: string[] = []; // ascending
  for (let i = rows.length - 1; i >= 0 && k > 0; i--) {
    const s = (rows[i] as CdrRow).start;
    if (top.length === k && s <= (top[0] as string)) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((top[mid] as string) < s) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, s);
    if (top.length > k) top.shift();
  }
  const data =
    top.length > 0
      ? { earliestDate: top[0], latestDate: top[top.length - 1], hasRecords: true, sampleSize: top.length }
      : { earliestDate: null, latestDate: null, hasRecords: false, sampleSize: 0 };
  return { result: true, data, function: 'getMetadata', processor: 'MikoPBX\\PBXCoreREST\\Lib\\Cdr\\GetMetadataAction::main' };
}

export function cdrStatsByProvider(model: PbxModel, params: Record<string, unknown>): ApiResult {
  const fn = 'getStatsByProvider';
  const processor = 'MikoPBX\\PBXCoreREST\\Lib\\Cdr\\GetStatsByProviderAction::main';
  const str = (k: string): string | null => (typeof params[k] === 'string' ? (params[k] as string) : null);
  try {
    let dateFrom = str('dateFrom');
    let dateTo = str('dateTo');
    if (dateFrom === null || dateTo === null) throw new ValidationError('Both dateFrom and dateTo parameters are required.');
    [dateFrom, dateTo] = normalizeDates(dateFrom, dateTo) as [string, string];
    checkRange(model, dateFrom, dateTo, true);
    const provider = str('provider');
    const ids = provider !== null ? [provider] : model.providers().map((p) => p.id);
    const idSet = new Set(ids);
    model.sync();
    type Agg = { answered: boolean; duration: number; billsec: number };
    const per = { incoming: new Map<string, Map<string, Agg>>(), outgoing: new Map<string, Map<string, Agg>>() };
    for (const r of model.cdr.rows) {
      if (r.start < dateFrom || r.start > dateTo) continue;
      for (const [direction, account] of [
        ['incoming', r.from_account],
        ['outgoing', r.to_account],
      ] as const) {
        if (!idSet.has(account)) continue;
        let byCall = per[direction].get(account);
        if (!byCall) per[direction].set(account, (byCall = new Map()));
        const a = byCall.get(r.linkedid) ?? { answered: false, duration: 0, billsec: 0 };
        a.answered ||= r.disposition === 'ANSWERED';
        a.duration = Math.max(a.duration, r.duration);
        a.billsec = Math.max(a.billsec, r.billsec);
        byCall.set(r.linkedid, a);
      }
    }
    const out: Record<string, unknown>[] = [];
    for (const direction of ['incoming', 'outgoing'] as const) {
      for (const [id, byCall] of per[direction]) {
        let answeredCalls = 0;
        let totalDuration = 0;
        let totalBillsec = 0;
        for (const a of byCall.values()) {
          if (a.answered) answeredCalls++;
          totalDuration += a.duration;
          totalBillsec += a.billsec;
        }
        const p = model.getProvider(id);
        out.push({
          provider: id,
          providerName: p && p.description !== '' ? p.description : id,
          direction,
          totalCalls: byCall.size,
          answeredCalls,
          totalDuration,
          totalBillsec,
        });
      }
    }
    out.sort((a, b) => compare(a.provider as string, b.provider as string) || compare(a.direction as string, b.direction as string));
    return { result: true, data: out, function: fn, processor };
  } catch (e) {
    if (e instanceof ValidationError) return fail(fn, processor, e.message);
    throw e;
  }
}
