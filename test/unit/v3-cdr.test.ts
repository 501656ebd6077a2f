import { describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import { CDR_LOOKAHEAD_DAYS, CDR_LOOKBACK_DAYS, parseCdrPage, V3CdrSource } from '../../src/api/v3-cdr.js';
import { FakeCdrPbx, callLeg } from '../helpers/fake-cdr.js';

// 2026-04-10 14:22:31 at UTC+3 = 11:22:31 UTC
const NOW = Date.UTC(2026, 3, 10, 11, 22, 31);
const T0 = NOW / 1000 - 3600;

const row = (over: Record<string, unknown> = {}) => ({
  id: 718512,
  start: '2026-04-10 14:16:41.311',
  endtime: '2026-04-10 14:20:15.020',
  answer: '2026-04-10 14:17:04.118',
  src_chan: 'PJSIP/SIP-TRUNK-3F9A1C7B-00000120',
  dst_chan: 'PJSIP/202-00000122',
  src_num: '79161234567',
  dst_num: '202',
  linkedid: 'mikopbx-1775819801.1150',
  disposition: 'ANSWERED',
  from_account: 'SIP-TRUNK-3F9A1C7B',
  to_account: '202',
  duration: 213,
  billsec: 191,
  ...over,
});
const page = (records: unknown[], hasMore = false) => ({ records, pagination: { total: records.length, limit: 1000, offset: 0, hasMore, lastId: null } });

describe('parseCdrPage', () => {
  it('converts PBX-local times with the offset of meta.timestamp, not the exporter time zone', () => {
    const p = parseCdrPage(page([row()]), '2026-04-10T14:22:31+03:00', { afterId: 718497, limit: 1000 });
    const leg = p.legs[0];
    expect(p.utcOffsetMinutes).toBe(180);
    expect(leg?.start).toBeCloseTo(Date.UTC(2026, 3, 10, 11, 16, 41, 311) / 1000, 6);
    expect(leg?.answer).toBeCloseTo(Date.UTC(2026, 3, 10, 11, 17, 4, 118) / 1000, 6);
    expect(leg?.end).toBeCloseTo(Date.UTC(2026, 3, 10, 11, 20, 15, 20) / 1000, 6);
    expect(p.lastId).toBe(718512);
    // The same wall clock at a PBX in UTC-5 is 8 hours later in Unix time.
    const west = parseCdrPage(page([row()]), '2026-04-10T06:22:31-05:00', { afterId: 0, limit: 1000 });
    expect((west.legs[0]?.start ?? 0) - (leg?.start ?? 0)).toBeCloseTo(8 * 3600, 6);
  });

  it('gives the same Unix times whatever TZ the exporter process runs in', () => {
    const saved = process.env.TZ;
    const parseIn = (tz: string) => {
      process.env.TZ = tz; // Node applies a changed TZ to Date at once
      const local = new Date(2026, 3, 10, 12).getTimezoneOffset();
      const p = parseCdrPage(page([row()]), '2026-04-10T14:22:31+03:00', { afterId: 0, limit: 10 });
      const l = p.legs[0];
      return { local, times: [l?.start, l?.answer, l?.end] };
    };
    try {
      const utc = parseIn('UTC');
      const ny = parseIn('America/New_York');
      const kolkata = parseIn('Asia/Kolkata');
      expect([utc.local, ny.local, kolkata.local]).toEqual([0, 240, -330]); // the zone switch took effect
      expect(utc.times[0]).toBeCloseTo(Date.UTC(2026, 3, 10, 11, 16, 41, 311) / 1000, 6);
      expect(ny.times).toEqual(utc.times);
      expect(kolkata.times).toEqual(utc.times);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('reads an empty answer as unanswered and accepts numeric strings for ints', () => {
    const p = parseCdrPage(page([row({ answer: '', billsec: '0', duration: '17', disposition: 'NOANSWER' })]), '2026-04-10T14:22:31+03:00', {
      afterId: 0,
      limit: 10,
    });
    expect(p.legs[0]).toMatchObject({ answer: null, billsec: 0, duration: 17, disposition: 'NOANSWER' });
  });

  it.each([
    ['no meta.timestamp', page([row()]), undefined, /meta.timestamp/],
    ['timestamp without offset', page([row()]), '2026-04-10T14:22:31', /meta.timestamp/],
    ['records not a list', { records: {}, pagination: { hasMore: false } }, '+03:00', /data.records/],
    ['no pagination', { records: [] }, '+03:00', /data.pagination/],
    ['hasMore not boolean', { records: [], pagination: { hasMore: 'no' } }, '+03:00', /hasMore/],
    ['hasMore on an empty page', page([], true), '+03:00', /hasMore/],
    ['ids not ascending', page([row({ id: 5 }), row({ id: 4 })]), '+03:00', /records\[1\]\.id.*ignored idFrom/],
    ['id at or below idFrom', page([row({ id: 3 })]), '+03:00', /records\[0\]\.id/],
    ['malformed start', page([row({ start: '10/04/2026 14:16' })]), '+03:00', /records\[0\]\.start/],
    ['ISO start is fine but garbage endtime is not', page([row({ endtime: 'soon' })]), '+03:00', /records\[0\]\.endtime/],
    ['billsec not a number', page([row({ billsec: 'N/A' })]), '+03:00', /records\[0\]\.billsec/],
    ['negative duration', page([row({ duration: -1 })]), '+03:00', /records\[0\]\.duration/],
    ['no linkedid', page([row({ linkedid: '' })]), '+03:00', /records\[0\]\.linkedid/],
    ['no disposition', page([row({ disposition: null })]), '+03:00', /records\[0\]\.disposition/],
  ])('rejects the whole page: %s', (_name, data, ts, re) => {
    const stamp = ts === '+03:00' ? '2026-04-10T14:22:31+03:00' : ts;
    expect(() => parseCdrPage(data, stamp, { afterId: 3, limit: 10 })).toThrow(re);
  });

  it('rejects more rows than asked for', () => {
    expect(() => parseCdrPage(page([row({ id: 10 }), row({ id: 11 })]), '2026-04-10T14:22:31+03:00', { afterId: 0, limit: 1 })).toThrow(/2 rows for limit 1/);
  });
});

describe('V3CdrSource', () => {
  it('asks ungrouped, ascending by id, after the cursor, with an explicit PBX-local window of < 365 days', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    pbx.add(callLeg('inbound', 'a', T0, '201', { answerAfter: 5 }));
    const src = new V3CdrSource(pbx.get, () => NOW);
    expect(await src.newest()).toEqual({ id: 1000, linkedid: 'a' });
    const p = await src.page({ afterId: 999, limit: 5000 });
    expect(p.legs.map((l) => l.id)).toEqual([1000]);
    const [first, second] = pbx.requests;
    expect(first).toMatchObject({ grouped: 'false', sort: 'id', order: 'DESC', limit: '1' });
    expect(second).toMatchObject({ grouped: 'false', sort: 'id', order: 'ASC', idFrom: '999', limit: '1000', offset: '0' });
    for (const q of [first, second]) {
      expect(q?.dateFrom).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(q?.dateTo).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    }
    // After the first answer the window is in PBX-local time (UTC+3), whatever the exporter's zone.
    const lookahead = new Date(NOW + CDR_LOOKAHEAD_DAYS * 86_400_000 + 180 * 60_000).toISOString().slice(0, 19).replace('T', ' ');
    const lookback = new Date(NOW - CDR_LOOKBACK_DAYS * 86_400_000 + 180 * 60_000).toISOString().slice(0, 19).replace('T', ' ');
    expect(second?.dateTo).toBe(lookahead);
    expect(second?.dateFrom).toBe(lookback);
    expect(CDR_LOOKBACK_DAYS + CDR_LOOKAHEAD_DAYS).toBeLessThan(365);
  });

  it('finds the newest id beyond the implicit 30-day window (no backfill after a quiet month)', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    pbx.add(callLeg('internal', 'old', NOW / 1000 - 60 * 86_400, '201', '202', { answerAfter: 3 }));
    const src = new V3CdrSource(pbx.get, () => NOW);
    expect((await src.newest()).id).toBe(1000);
  });

  it('returns 0 for an empty table', async () => {
    const src = new V3CdrSource(new FakeCdrPbx(NOW).get, () => NOW);
    expect(await src.newest()).toEqual({ id: 0, linkedid: null });
  });

  it('turns a malformed page into a shape error of the endpoint', async () => {
    const pbx = new FakeCdrPbx(NOW);
    pbx.faults.push({
      status: 200,
      body: JSON.stringify({
        result: true,
        data: { records: [{ id: 'x' }], pagination: { hasMore: false } },
        meta: { timestamp: '2026-04-10T14:22:31+03:00' },
      }),
    });
    const src = new V3CdrSource(pbx.get, () => NOW);
    const err = await src.page({ afterId: 0, limit: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PbxApiError);
    expect(err).toMatchObject({ kind: 'shape', endpoint: '/pbxcore/api/v3/cdr' });
  });
});
