/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { getJson, manualClock, withSim } from './helpers.js';
import type { ManualClock } from './helpers.js';

const CDR = '/pbxcore/api/v3/cdr';
const q = (params: Record<string, string | number | boolean>): string =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;

let sim: Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function fresh(clock: ManualClock, extra: Parameters<typeof withSim>[0] = {}): Promise<Simulator> {
  sim = await withSim({ now: clock.now, historyCalls: 0, activeCalls: 0, ...extra });
  return sim;
}

/** a completed call whose first leg started at the clock time minus ageMs */
function completedCall(s: Simulator, clock: ManualClock, scenario: Parameters<Simulator['model']['startCall']>[0], ageMs = 60_000): string {
  const info = s.model.startCall(scenario, { ageMs });
  clock.advance(1000);
  s.model.endCall(info.linkedid);
  return info.linkedid;
}

describe('GET /cdr', () => {
  it('idFrom is an id cursor (id > idFrom), ungrouped legs in id order', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 10 });
    const base = s.model.maxCdrId();
    expect(base).toBeGreaterThan(0);
    completedCall(s, clock, 'inbound-queue');
    completedCall(s, clock, 'outbound');
    const r = await getJson(s, CDR + q({ grouped: false, sort: 'id', order: 'ASC', idFrom: base, dateFrom: '2026-04-09 00:00:00', limit: 1000 }));
    expect(r.status).toBe(200);
    const ids = r.json.data.records.map((x: any) => x.id);
    expect(ids[0]).toBe(base + 1);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    expect(ids.at(-1)).toBe(s.model.maxCdrId());
    expect(r.json.data.pagination).toEqual({ total: ids.length, limit: 1000, offset: 0, hasMore: false, lastId: s.model.maxCdrId() });
    const rec = r.json.data.records[0];
    expect(typeof rec.id).toBe('number');
    expect(typeof rec.duration).toBe('number');
    expect(typeof rec.billsec).toBe('number');
    for (const [k, v] of Object.entries(rec)) if (!['id', 'duration', 'billsec'].includes(k)) expect(typeof v).toBe('string');
  });

  it('compares dates as strings: an ISO T silently shifts the window', async () => {
    const clock = manualClock(Date.UTC(2026, 3, 10, 7, 30, 0)); // 10:30 local
    const s = await fresh(clock);
    completedCall(s, clock, 'internal', 5000);
    completedCall(s, clock, 'outbound', 5000);
    const local = await getJson(s, CDR + q({ grouped: false, dateFrom: '2026-04-10 10:00:00', dateTo: '2026-04-10 11:00:00' }));
    expect(local.json.data.pagination.total).toBe(2);
    // '2026-04-10 10:29…' >= '2026-04-10T10:00:00' is false because ' ' < 'T'
    const iso = await getJson(s, CDR + q({ grouped: false, dateFrom: '2026-04-10T10:00:00', dateTo: '2026-04-10T11:00:00' }));
    expect(iso.status).toBe(200);
    expect(iso.json.data.pagination.total).toBe(0);
    // and an ISO dateTo from hours earlier still includes the whole day
    const early = await getJson(s, CDR + q({ grouped: false, dateFrom: '2026-04-10 00:00:00', dateTo: '2026-04-10T00:00:01' }));
    expect(early.json.data.pagination.total).toBe(2);
    // 10-char dates get 00:00:00 / 23:59:59
    const day = await getJson(s, CDR + q({ grouped: false, dateFrom: '2026-04-10', dateTo: '2026-04-10' }));
    expect(day.json.data.pagination.total).toBe(2);
    const rows = day.json.data.records;
    expect(rows[0].start).toMatch(/^2026-04-10 10:29:\d\d\.\d{3}$/);
  });

  it('applies the implicit 30-day window unless a date/number/linkedid filter is given', async () => {
    const clock = manualClock(Date.UTC(2026, 2, 1, 9, 0, 0));
    const s = await fresh(clock);
    const old = completedCall(s, clock, 'internal');
    const oldMax = s.model.maxCdrId();
    clock.set(Date.UTC(2026, 3, 10, 9, 0, 0)); // 40 days later
    completedCall(s, clock, 'internal');
    const plain = await getJson(s, CDR + q({ grouped: false }));
    expect(plain.json.data.pagination.total).toBe(1);
    const cursor = await getJson(s, CDR + q({ grouped: false, idFrom: 0 }));
    expect(cursor.json.data.pagination.total).toBe(1); // idFrom alone does not lift it
    const disp = await getJson(s, CDR + q({ grouped: false, disposition: 'ANSWERED' }));
    expect(disp.json.data.pagination.total).toBe(1);
    const byLinked = await getJson(s, CDR + q({ grouped: false, linkedid: old }));
    expect(byLinked.json.data.records.map((r: any) => r.id)).toEqual([oldMax]);
    const bySrc = await getJson(s, CDR + q({ grouped: false, src_num: '2' }));
    expect(bySrc.json.data.pagination.total).toBe(2);
    const byDate = await getJson(s, CDR + q({ grouped: false, dateFrom: '2026-03-01' }));
    expect(byDate.json.data.pagination.total).toBe(2);
  });

  it('clamps limit to 1..1000 and validates offset and date range with 422', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 5 });
    expect((await getJson(s, CDR + q({ limit: 0 }))).json.data.pagination.limit).toBe(1);
    expect((await getJson(s, CDR + q({ limit: 5000 }))).json.data.pagination.limit).toBe(1000);
    expect((await getJson(s, CDR + q({ limit: 'abc' }))).json.data.pagination.limit).toBe(1);
    expect((await getJson(s, CDR)).json.data.pagination.limit).toBe(50);

    const neg = await getJson(s, CDR + q({ offset: -1 }));
    expect(neg.status).toBe(422);
    expect(neg.json).toMatchObject({
      result: false,
      data: [],
      httpCode: 422,
      function: 'getList',
      messages: { error: ['Invalid offset value: -1. Offset must be non-negative.'] },
    });

    const wide = await getJson(s, CDR + q({ dateFrom: '2025-01-01', dateTo: '2026-04-10' }));
    expect(wide.status).toBe(422);
    expect(wide.json.messages.error[0]).toBe('Date range exceeds maximum allowed (365 days). Please narrow your search criteria.');

    const garbage = await getJson(s, CDR + q({ dateFrom: 'yesterday-ish', dateTo: '2026-04-10' }));
    expect(garbage.status).toBe(422);
    expect(garbage.json.messages.error[0]).toBe('Invalid date format. Expected: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS');

    // one date alone is never validated, just compared as a string
    expect((await getJson(s, CDR + q({ dateFrom: 'garbage' }))).status).toBe(200);
  });

  it('groups legs by linkedid with the PBX group fields', async () => {
    const clock = manualClock();
    const s = await fresh(clock);
    const queue = completedCall(s, clock, 'inbound-queue');
    const r = await getJson(s, CDR + q({ linkedid: queue }));
    expect(r.json.data.records).toHaveLength(1);
    const g = r.json.data.records[0];
    expect(Object.keys(g)).toEqual([
      'linkedid',
      'start',
      'src_num',
      'src_name',
      'dst_num',
      'dst_name',
      'did',
      'disposition',
      'totalDuration',
      'totalBillsec',
      'records',
    ]);
    const legs = g.records;
    expect(legs.length).toBeGreaterThanOrEqual(2);
    expect(legs.map((l: any) => l.start)).toEqual([...legs.map((l: any) => l.start)].sort());
    expect(g.start).toBe(legs[0].start);
    expect(g.disposition).toBe('ANSWERED');
    expect(legs.filter((l: any) => l.disposition === 'ANSWERED')).toHaveLength(1);
    expect(legs.filter((l: any) => l.disposition === 'NOANSWER')).toHaveLength(legs.length - 1);
    expect(g.dst_num).toBe(g.did);
    expect(g.did).toMatch(/^7495\d{7}$/);
    expect(g.totalDuration).toBe(legs.reduce((a: number, l: any) => a + l.duration, 0));
    expect(g.totalBillsec).toBe(legs.reduce((a: number, l: any) => a + l.billsec, 0));
    // default id DESC: dst_name comes from the newest leg
    const newest = [...legs].sort((a: any, b: any) => b.id - a.id)[0];
    expect(g.dst_name).toBe(newest.dst_name);
    expect(r.json.data.pagination.lastId).toBe(legs.at(-1).id);
    for (const l of legs) {
      expect(l.from_account).toMatch(/^(SIP|IAX)-/);
      expect(l.UNIQUEID).toMatch(new RegExp(`^${queue.replace('.', '\\.')}_[A-Za-z0-9]{6}$`));
      if (l.disposition === 'ANSWERED') expect(l.recordingfile).toMatch(/^\/storage\/usbdisk1\/mikopbx\/astspool\/monitor\/2026\/04\/10\/\d\d\/.+\.webm$/);
    }
  });

  it('paginates groups with total = distinct linkedids and hasMore = offset + limit < total', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 30 });
    const all = await getJson(s, CDR + q({ limit: 1000 }));
    const total = all.json.data.pagination.total;
    expect(total).toBe(30);
    const linked = new Set(s.model.cdrRows().map((r) => r.linkedid));
    expect(linked.size).toBe(30);
    const p1 = await getJson(s, CDR + q({ limit: 10, offset: 0 }));
    expect(p1.json.data.pagination).toMatchObject({ total: 30, limit: 10, offset: 0, hasMore: true });
    const p3 = await getJson(s, CDR + q({ limit: 10, offset: 20 }));
    expect(p3.json.data.pagination.hasMore).toBe(false);
    const seen = new Set<string>();
    for (let off = 0; off < 30; off += 10) {
      const p = await getJson(s, CDR + q({ limit: 10, offset: off }));
      for (const g of p.json.data.records) seen.add(g.linkedid);
    }
    expect(seen).toEqual(linked);
    const ungrouped = await getJson(s, CDR + q({ grouped: 'false', limit: 5 }));
    expect(ungrouped.json.data.pagination.total).toBe(s.model.cdrRows().length);
    expect(ungrouped.json.data.records[0].id).toBe(s.model.maxCdrId()); // DESC by default
    expect(ungrouped.json.data.pagination.lastId).toBe(ungrouped.json.data.records[4].id);
    const empty = await getJson(s, CDR + q({ grouped: false, idFrom: s.model.maxCdrId() }));
    expect(empty.json.data).toEqual({ records: [], pagination: { total: 0, limit: 50, offset: 0, hasMore: false, lastId: null } });
  });

  it('writes a long call after shorter calls that started later (higher id, earlier start)', async () => {
    const clock = manualClock();
    const s = await fresh(clock);
    const long = s.model.startCall('long', { ageMs: 600_000 });
    const short = s.model.startCall('internal', { ageMs: 30_000 });
    clock.advance(5000);
    s.model.endCall(short.linkedid);
    clock.advance(5000);
    s.model.endCall(long.linkedid);
    const r = await getJson(s, CDR + q({ grouped: false, sort: 'id', order: 'ASC', dateFrom: '2026-04-10' }));
    const rows = r.json.data.records;
    const shortRows = rows.filter((x: any) => x.linkedid === short.linkedid);
    const longRows = rows.filter((x: any) => x.linkedid === long.linkedid);
    expect(Math.min(...longRows.map((x: any) => x.id))).toBeGreaterThan(Math.max(...shortRows.map((x: any) => x.id)));
    expect(longRows[0].start < shortRows[0].start).toBe(true);
    const truth = s.model.completedCalls();
    expect(truth.map((c) => c.linkedid)).toEqual([short.linkedid, long.linkedid]);
  });

  it('pages through a burst of more than 1000 legs with the id cursor', async () => {
    const clock = manualClock();
    const s = await fresh(clock);
    const base = s.model.maxCdrId();
    const gen = s.model.generateCalls(1000);
    expect(gen.legs).toBeGreaterThan(1000);
    const seen: number[] = [];
    let cursor = base;
    for (;;) {
      const r = await getJson(s, CDR + q({ grouped: false, sort: 'id', order: 'ASC', idFrom: cursor, limit: 1000, dateFrom: '2026-03-20 00:00:00' }));
      const recs = r.json.data.records;
      if (recs.length === 0) break;
      seen.push(...recs.map((x: any) => x.id));
      cursor = r.json.data.pagination.lastId;
    }
    expect(seen).toHaveLength(gen.legs);
    expect(seen[0]).toBe(gen.firstId);
    expect(seen.at(-1)).toBe(gen.lastId);
  });

  it('cdr/{id} is the known stub returning []', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 2 });
    const r = await getJson(s, `${CDR}/1`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual([]);
  });
});

describe('cdr:getMetadata and cdr:getStatsByProvider', () => {
  it('metadata covers the newest rows by start', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 20 });
    const r = await getJson(s, '/pbxcore/api/v3/cdr:getMetadata?limit=5');
    const starts = s.model
      .cdrRows()
      .map((x) => x.start as string)
      .sort();
    expect(r.json.data).toEqual({ earliestDate: starts.at(-5), latestDate: starts.at(-1), hasRecords: true, sampleSize: 5 });
    const none = await withSim({ historyCalls: 0, activeCalls: 0 });
    try {
      expect((await getJson(none, '/pbxcore/api/v3/cdr:getMetadata')).json.data).toEqual({
        earliestDate: null,
        latestDate: null,
        hasRecords: false,
        sampleSize: 0,
      });
    } finally {
      await none.close();
    }
  });

  it('stats per provider dedupe legs per linkedid and match the ground truth', async () => {
    const clock = manualClock();
    const s = await fresh(clock, { historyCalls: 0 });
    s.model.generateCalls(150);
    const missing = await getJson(s, '/pbxcore/api/v3/cdr:getStatsByProvider?dateFrom=2026-04-01');
    expect(missing.status).toBe(422);
    expect(missing.json.messages.error[0]).toBe('Both dateFrom and dateTo parameters are required.');
    const reversed = await getJson(s, '/pbxcore/api/v3/cdr:getStatsByProvider' + q({ dateFrom: '2026-04-10', dateTo: '2026-04-01' }));
    expect(reversed.status).toBe(422);
    const r = await getJson(s, '/pbxcore/api/v3/cdr:getStatsByProvider' + q({ dateFrom: '2026-03-01', dateTo: '2026-04-10' }));
    expect(r.status).toBe(200);
    const truth = s.model.truth();
    let rows = 0;
    for (const [id, byDir] of Object.entries(truth.cdr.providerCalls)) {
      for (const [dir, api] of [
        ['inbound', 'incoming'],
        ['outbound', 'outgoing'],
      ] as const) {
        const counts = byDir[dir];
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        const row = r.json.data.find((x: any) => x.provider === id && x.direction === api);
        if (total === 0) {
          expect(row).toBeUndefined();
          continue;
        }
        rows++;
        expect(row.totalCalls).toBe(total);
        // the PBX counts only legs whose disposition is ANSWERED (short answers with billsec 0 are not)
        const shortAnswers = s.model
          .completedCalls()
          .filter((c) => c.provider === id && c.direction === dir && c.disposition === 'answered' && c.talkSeconds === 0).length;
        expect(row.answeredCalls).toBe(counts.answered - shortAnswers);
        expect(row.providerName).toBe(s.model.getProvider(id)?.description);
      }
    }
    expect(rows).toBe(r.json.data.length);
    expect(rows).toBeGreaterThan(0);
  });
});
