import { parseData, type Envelope } from './envelope.js';
import { ShapeError } from './errors.js';
import type { CdrNewest, CdrPageRequest, CdrSource } from './pbx-api.js';
import { pbxLocalToUnix, unixToPbxLocal, utcOffsetMinutesOf } from './time.js';
import type { CdrLeg, CdrPage } from './types.js';
import { expectArray, expectId, expectInteger, expectObject, expectString, optionalString } from './validate.js';

const ENDPOINT = '/pbxcore/api/v3/cdr';
const DAY = 86_400;

/**
 * The explicit date window sent with every CDR request (mikopbx-api.md §2.4.5, pitfalls 9–10).
 * Without one the PBX silently applies its 30-day default; `dateFrom` filters on a call's *start*,
 * so a call longer than the lookback would vanish without trace. Reading is by id cursor, so the
 * window costs nothing in precision: it only has to contain every start that can still be
 * written. We take the widest the PBX accepts (range ≤ 365 days): 362 days back, 2 days ahead
 * (clock skew between exporter and PBX, an offset not yet known or changed by DST). newest()
 * must use the same window, or a quiet spell longer than a narrower window would make the first
 * page backfill history.
 */
export const CDR_LOOKBACK_DAYS = 362;
export const CDR_LOOKAHEAD_DAYS = 2;
export const CDR_MAX_PAGE = 1000;

/** v3 `GET /pbxcore/api/v3/cdr`, read ungrouped by ascending id (the only stable cursor). */
export class V3CdrSource implements CdrSource {
  /** PBX UTC offset from the last answer; 0 before the first (absorbed by the window's margins). */
  private offsetMinutes = 0;

  constructor(
    private readonly get: (path: string, query: Record<string, string | number>) => Promise<Envelope>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Date filters in PBX-local `YYYY-MM-DD HH:MM:SS` (never ISO `T`: the PBX compares strings). */
  window(): { dateFrom: string; dateTo: string } {
    const t = this.now() / 1000;
    return {
      dateFrom: unixToPbxLocal(t - CDR_LOOKBACK_DAYS * DAY, this.offsetMinutes),
      dateTo: unixToPbxLocal(t + CDR_LOOKAHEAD_DAYS * DAY, this.offsetMinutes),
    };
  }

  async newest(): Promise<CdrNewest> {
    const env = await this.get(ENDPOINT, { grouped: 'false', sort: 'id', order: 'DESC', limit: 1, offset: 0, ...this.window() });
    return parseData(ENDPOINT, () => {
      this.learnOffset(env.timestamp);
      const records = expectArray(expectObject(env.data, 'data').records, 'data.records');
      if (records.length === 0) return { id: 0, linkedid: null };
      const row = expectObject(records[0], 'data.records[0]');
      return { id: positiveId(row.id, 'data.records[0].id'), linkedid: expectId(row.linkedid, 'data.records[0].linkedid') };
    });
  }

  async page(req: CdrPageRequest): Promise<CdrPage> {
    const limit = Math.max(1, Math.min(CDR_MAX_PAGE, Math.floor(req.limit)));
    const env = await this.get(ENDPOINT, {
      grouped: 'false',
      sort: 'id',
      order: 'ASC',
      idFrom: req.afterId,
      limit,
      offset: 0,
      ...this.window(),
    });
    return parseData(ENDPOINT, () => {
      const page = parseCdrPage(env.data, env.timestamp, { afterId: req.afterId, limit });
      this.offsetMinutes = page.utcOffsetMinutes;
      return page;
    });
  }

  private learnOffset(timestamp: string | undefined): void {
    const offset = timestamp === undefined ? null : utcOffsetMinutesOf(timestamp);
    if (offset !== null) this.offsetMinutes = offset;
  }
}

function positiveId(v: unknown, path: string): number {
  const id = expectInteger(v, path);
  if (id <= 0) throw new ShapeError(path, `expected a positive id, got ${id}`);
  return id;
}

function localTime(v: unknown, path: string, offset: number, required: boolean): number | null {
  const s = required ? expectString(v, path) : optionalString(v, path);
  if (s === '' && !required) return null;
  const t = pbxLocalToUnix(s, offset);
  if (t === null) throw new ShapeError(path, `expected a PBX-local time YYYY-MM-DD HH:MM:SS[.mmm], got ${JSON.stringify(s.slice(0, 40))}`);
  return t;
}

function nonNegative(v: unknown, path: string): number {
  const n = expectInteger(v, path);
  if (n < 0) throw new ShapeError(path, `expected a non-negative integer, got ${n}`);
  return n;
}

/**
 * One ungrouped leg row; times converted with the offset of the answer it came in. Field paths
 * are short ('id') and prefixed with the row's path only when one is wrong: building a dozen
 * path strings for every one of thousands of good legs was a good part of a CDR page's cost.
 */
export function parseCdrLeg(raw: unknown, path: string, offset: number): CdrLeg {
  try {
    return parseLegFields(expectObject(raw, ''), offset);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(e.path === '' ? path : `${path}.${e.path}`, e.message.slice(e.path.length + 2));
    throw e;
  }
}

function parseLegFields(r: Record<string, unknown>, offset: number): CdrLeg {
  return {
    id: positiveId(r.id, 'id'),
    linkedid: expectId(r.linkedid, 'linkedid'),
    start: localTime(r.start, 'start', offset, true) as number,
    answer: localTime(r.answer, 'answer', offset, false),
    end: localTime(r.endtime, 'endtime', offset, false),
    srcChannel: optionalString(r.src_chan, 'src_chan'),
    dstChannel: optionalString(r.dst_chan, 'dst_chan'),
    srcNum: optionalString(r.src_num, 'src_num'),
    dstNum: optionalString(r.dst_num, 'dst_num'),
    fromAccount: optionalString(r.from_account, 'from_account'),
    toAccount: optionalString(r.to_account, 'to_account'),
    disposition: expectString(r.disposition, 'disposition'),
    duration: nonNegative(r.duration, 'duration'),
    billsec: nonNegative(r.billsec, 'billsec'),
  };
}

/**
 * An ungrouped, id-ascending page. Anything that would make counting wrong (a row we did not ask
 * for, ids out of order, no offset to convert times, more pages promised with none given) fails
 * the whole page: a failed run is retried, a partially trusted page could be counted wrong.
 */
export function parseCdrPage(data: unknown, timestamp: string | undefined, req: CdrPageRequest): CdrPage {
  const offset = timestamp === undefined ? null : utcOffsetMinutesOf(timestamp);
  if (offset === null) throw new ShapeError('meta.timestamp', 'missing or without a UTC offset; PBX-local call times cannot be converted');
  const d = expectObject(data, 'data');
  const rows = expectArray(d.records, 'data.records');
  const pagination = expectObject(d.pagination, 'data.pagination');
  if (typeof pagination.hasMore !== 'boolean') throw new ShapeError('data.pagination.hasMore', 'expected true or false');
  if (rows.length > req.limit) throw new ShapeError('data.records', `${rows.length} rows for limit ${req.limit}`);
  const legs: CdrLeg[] = [];
  let last = req.afterId;
  rows.forEach((raw, i) => {
    const leg = parseCdrLeg(raw, `data.records[${i}]`, offset);
    if (leg.id <= last) {
      throw new ShapeError(`data.records[${i}].id`, `id ${leg.id} not above ${last}: the PBX ignored idFrom or sort=id&order=ASC`);
    }
    last = leg.id;
    legs.push(leg);
  });
  const hasMore = pagination.hasMore;
  if (hasMore && legs.length === 0) throw new ShapeError('data.pagination.hasMore', 'true on an empty page');
  return { legs, hasMore, lastId: last, utcOffsetMinutes: offset };
}
