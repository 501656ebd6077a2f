import type { Envelope } from '../../src/api/envelope.js';
import { unwrapV3 } from '../../src/api/v3-envelope.js';

/** A leg as a test writes it: Unix seconds, the rest as the PBX stores it. */
export interface LegSpec {
  linkedid: string;
  start: number;
  answer?: number | null;
  end: number;
  src_chan?: string;
  dst_chan?: string;
  src_num?: string;
  dst_num?: string;
  from_account?: string;
  to_account?: string;
  disposition?: string;
  billsec?: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** PBX-local 'YYYY-MM-DD HH:MM:SS.mmm' for a Unix time, independent of the test's own TZ. */
export function pbxLocal(unix: number, offsetMinutes: number): string {
  const d = new Date(Math.round((unix + offsetMinutes * 60) * 1000));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function isoWithOffset(unixMs: number, offsetMinutes: number): string {
  const local = pbxLocal(unixMs / 1000, offsetMinutes)
    .slice(0, 19)
    .replace(' ', 'T');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const a = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * In-memory cdr_general behind `GET /pbxcore/api/v3/cdr`, with the PBX's semantics for what the
 * exporter uses: ungrouped rows, idFrom, sort=id ASC/DESC, limit ≤ 1000, string comparison of
 * dateFrom/dateTo against the local `start`, the implicit 30-day window, 422 on a range over
 * 365 days, pagination inside data, meta.timestamp in the PBX zone.
 */
export class FakeCdrPbx {
  readonly rows: Array<Record<string, string | number>> = [];
  readonly requests: Array<Record<string, string>> = [];
  /** Answers to give instead of the real one, in order (status, body). */
  readonly faults: Array<{ status: number; body: string }> = [];
  private nextId: number;

  constructor(
    public nowMs: number,
    public offsetMinutes = 180,
    firstId = 1000,
  ) {
    this.nextId = firstId;
  }

  /** Appends legs (in the order given, as WorkerCdr writes them); returns their ids. */
  add(...legs: LegSpec[]): number[] {
    return legs.map((l) => {
      const id = this.nextId++;
      const answer = l.answer ?? null;
      const billsec = l.billsec ?? (answer === null ? 0 : Math.floor(l.end) - Math.floor(answer));
      this.rows.push({
        id,
        start: pbxLocal(l.start, this.offsetMinutes),
        endtime: pbxLocal(l.end, this.offsetMinutes),
        answer: answer === null ? '' : pbxLocal(answer, this.offsetMinutes),
        src_chan: l.src_chan ?? '',
        src_num: l.src_num ?? '',
        src_name: '',
        dst_chan: l.dst_chan ?? '',
        dst_num: l.dst_num ?? '',
        dst_name: '',
        UNIQUEID: `${l.linkedid}_${id}`,
        linkedid: l.linkedid,
        did: '',
        disposition: l.disposition ?? (billsec > 0 ? 'ANSWERED' : 'NOANSWER'),
        recordingfile: '',
        from_account: l.from_account ?? '',
        to_account: l.to_account ?? '',
        dialstatus: '',
        duration: Math.max(0, Math.floor(l.end) - Math.floor(l.start)),
        billsec,
        work_completed: '1',
      });
      return id;
    });
  }

  get maxId(): number {
    return this.nextId - 1;
  }

  /** Raw HTTP answer for a query, as the PBX would give it. */
  handle(query: Record<string, string>): { status: number; body: string } {
    this.requests.push(query);
    const fault = this.faults.shift();
    if (fault) return fault;
    const meta = { timestamp: isoWithOffset(this.nowMs, this.offsetMinutes), hash: 'x' };
    const fail = (message: string) => ({
      status: 422,
      body: JSON.stringify({ result: false, data: [], messages: { error: [message] }, function: 'getList', httpCode: 422, meta }),
    });
    if (query.grouped !== 'false') return fail('test fake serves ungrouped rows only');
    const dateTo = query.dateTo;
    let dateFrom = query.dateFrom;
    for (const d of [dateFrom, dateTo]) if (d !== undefined && !DATE_RE.test(d)) return fail(`date not YYYY-MM-DD HH:MM:SS: ${d}`);
    if (dateFrom !== undefined && dateTo !== undefined) {
      const days = (Date.parse(`${dateTo.replace(' ', 'T')}Z`) - Date.parse(`${dateFrom.replace(' ', 'T')}Z`)) / 86_400_000;
      if (Math.floor(Math.abs(days)) > 365) return fail('Date range exceeds maximum allowed (365 days). Please narrow your search criteria.');
    }
    if (dateFrom === undefined && dateTo === undefined) {
      dateFrom = pbxLocal(this.nowMs / 1000 - 30 * 86_400, this.offsetMinutes).slice(0, 10) + ' 00:00:00';
    }
    const idFrom = query.idFrom !== undefined ? Number(query.idFrom) : null;
    const limit = Math.min(Math.max(1, Number(query.limit ?? 50) || 1), 1000);
    const offset = Number(query.offset ?? 0);
    let rows = this.rows.filter(
      (r) =>
        (idFrom === null || (r.id as number) > idFrom) &&
        (dateFrom === undefined || (r.start as string) >= dateFrom) &&
        (dateTo === undefined || (r.start as string) <= dateTo),
    );
    if (query.sort !== undefined && query.sort !== 'id') return fail('test fake sorts by id only');
    if ((query.order ?? 'DESC').toUpperCase() !== 'ASC') rows = [...rows].reverse();
    const page = rows.slice(offset, offset + limit);
    const last = page[page.length - 1];
    const data = { records: page, pagination: { total: rows.length, limit, offset, hasMore: offset + limit < rows.length, lastId: last ? last.id : null } };
    return { status: 200, body: JSON.stringify({ result: true, data, messages: [], function: 'getList', processor: 'x', pid: 1, meta }) };
  }

  /** The V3Client.get the CDR source calls, with no HTTP in between. */
  readonly get = async (path: string, query: Record<string, string | number>): Promise<Envelope> => {
    const q = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const res = this.handle(q);
    return unwrapV3({ endpoint: path, status: res.status, body: res.body, headers: { 'content-type': 'application/json' } });
  };
}

export const TRUNK = 'SIP-TRUNK-3F9A1C7B';
export const TRUNK2 = 'SIP-TRUNK-0A1B2C3D';

export type LegDirection = 'inbound' | 'outbound' | 'internal';

/** One end of a leg: its PJSIP endpoint, its number and its account. */
interface LegEnd {
  endpoint: string;
  num: string;
  account: string;
}
const extensionEnd = (ext: string): LegEnd => ({ endpoint: ext, num: ext, account: ext });
/** A trunk end: the trunk's endpoint and account, the outside party's number. */
const trunkEnd = (trunk: string, num: string): LegEnd => ({ endpoint: trunk, num, account: trunk });

export interface LegOptions {
  /** Seconds from start to answer; unanswered when absent. */
  answerAfter?: number;
  /** Seconds talked after the answer (60). */
  talk?: number;
  /** Seconds an unanswered leg rang (20). */
  ring?: number;
  disposition?: string;
  trunk?: string;
}

/**
 * A leg of a typical call: `inbound` trunk → `ext`, `outbound` `ext` → trunk, `internal`
 * `ext` → `to`. Each direction has its own channel ids and outside number, as the PBX would write them.
 */
export function callLeg(direction: 'inbound' | 'outbound', linkedid: string, start: number, ext: string, opts?: LegOptions): LegSpec;
export function callLeg(direction: 'internal', linkedid: string, start: number, ext: string, to: string, opts?: Omit<LegOptions, 'trunk'>): LegSpec;
export function callLeg(direction: LegDirection, linkedid: string, start: number, ext: string, ...rest: [LegOptions?] | [string, LegOptions?]): LegSpec {
  const [to, opts = {}] = direction === 'internal' ? (rest as [string, LegOptions?]) : ['', rest[0] as LegOptions | undefined];
  const trunk = opts.trunk ?? TRUNK;
  const ends: Record<LegDirection, [LegEnd, LegEnd, number]> = {
    inbound: [trunkEnd(trunk, '79161234567'), extensionEnd(ext), 120],
    outbound: [extensionEnd(ext), trunkEnd(trunk, '84991234567'), 130],
    internal: [extensionEnd(ext), extensionEnd(to), 140],
  };
  const [src, dst, channel] = ends[direction];
  const answer = opts.answerAfter === undefined ? null : start + opts.answerAfter;
  const end = answer === null ? start + (opts.ring ?? 20) : answer + (opts.talk ?? 60);
  return {
    linkedid,
    start,
    answer,
    end,
    src_chan: `PJSIP/${src.endpoint}-${pad(channel, 8)}`,
    src_num: src.num,
    dst_chan: `PJSIP/${dst.endpoint}-${pad(channel + 1, 8)}`,
    dst_num: dst.num,
    from_account: src.account,
    to_account: dst.account,
    ...(opts.disposition ? { disposition: opts.disposition } : {}),
  };
}
