import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import type { PbxApi } from '../../src/api/pbx-api.js';
import type { CdrPage, Provider } from '../../src/api/types.js';
import { V3CdrSource } from '../../src/api/v3-cdr.js';
import { CdrCollector, type CdrCollectorOptions } from '../../src/collectors/cdr.js';
import { CdrTracker } from '../../src/collectors/cdr-tracker.js';
import type { CollectContext } from '../../src/collectors/collector.js';
import { FakeCdrPbx, callLeg, TRUNK, TRUNK2, type LegSpec } from '../helpers/fake-cdr.js';
import { captureLogger } from '../helpers/fixtures.js';

const NOW = Date.UTC(2026, 3, 10, 11, 22, 31);
const T0 = NOW / 1000 - 4 * 3600;

const provider = (id: string): Provider => ({
  id,
  name: id,
  protocol: 'sip',
  host: 'h',
  username: 'u',
  state: 'registered',
  rttSeconds: null,
  stateSince: null,
});

type Labels = Record<string, string>;

async function setup(opts: Partial<CdrCollectorOptions> & { providers?: Provider[]; offsetMinutes?: number; pbx?: FakeCdrPbx } = {}) {
  const pbx = opts.pbx ?? new FakeCdrPbx(NOW, opts.offsetMinutes ?? 180);
  const registry = new Registry();
  const collector = new CdrCollector(registry, { intervalSeconds: 60, now: () => pbx.nowMs, ...opts });
  const source = new V3CdrSource(pbx.get, () => pbx.nowMs);
  const api = { generation: 'v3', cdr: source } as unknown as PbxApi;
  const { logger, lines } = await captureLogger('debug');
  const ctx: CollectContext = {
    api,
    snapshot: { providers: opts.providers ?? null, liveEndpoints: null, extensionNumbers: null },
    log: logger,
    now: () => pbx.nowMs,
  };
  const values = async (name: string) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
    const all = (await metric?.get())?.values ?? [];
    return all.filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name);
  };
  const value = async (name: string, labels: Labels = {}) => {
    const v = (await values(name)).find(
      (s) => Object.entries(labels).every(([k, x]) => String(s.labels[k]) === x) && Object.keys(s.labels).length === Object.keys(labels).length,
    );
    return v?.value;
  };
  /** Runs and returns how many requests the run sent. */
  const run = async () => {
    const before = pbx.requests.length;
    await collector.collect(ctx);
    return pbx.requests.length - before;
  };
  /** calls_total as {direction: {disposition: n}}, non-zero entries only. */
  const calls = async () => {
    const out: Record<string, Record<string, number>> = {};
    for (const s of await values('mikopbx_calls_total')) {
      if (s.value === 0) continue;
      (out[s.labels.direction as string] ??= {})[s.labels.disposition as string] = s.value;
    }
    return out;
  };
  return { pbx, registry, collector, ctx, run, value, values, calls, lines };
}

/** Runs until a run reads nothing new (the newest call is confirmed one run after it is read). */
async function catchUp(t: Awaited<ReturnType<typeof setup>>, maxRuns = 20) {
  for (let i = 0; i < maxRuns; i++) {
    const before = t.pbx.requests.length;
    await t.run();
    const q = t.pbx.requests.slice(before);
    if (q.length === 1 && (await t.value('mikopbx_cdr_records_total')) === countedTarget(t)) return;
  }
  throw new Error(`not caught up after ${maxRuns} runs`);
}
const countedTarget = (t: Awaited<ReturnType<typeof setup>>) => t.pbx.rows.filter((r) => (r.id as number) > (startId.get(t) ?? 0)).length;
const startId = new WeakMap<object, number>();

/** First run (finds the newest id), remembering where counting starts. */
async function start(t: Awaited<ReturnType<typeof setup>>) {
  expect(await t.run()).toBe(1);
  startId.set(t, t.pbx.maxId);
}

describe('cdr collector: start', () => {
  it('first run only finds the newest id: nothing before it is counted, only later calls', async () => {
    const t = await setup();
    t.pbx.add(callLeg('inbound', 'old-1', T0, '201', { answerAfter: 5 }), callLeg('outbound', 'old-2', T0 + 10, '202', { answerAfter: 8 }));
    await start(t);
    expect(t.pbx.requests[0]).toMatchObject({ order: 'DESC', limit: '1' });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(0);
    expect(await t.calls()).toEqual({});
    expect(t.collector.cursor).toBe(t.pbx.maxId);
    expect(t.lines.join('')).toMatch(/counting calls recorded after id 1001/);

    t.pbx.add(callLeg('internal', 'new-1', T0 + 100, '201', '202', { answerAfter: 4, talk: 30 }));
    await catchUp(t);
    expect(await t.calls()).toEqual({ internal: { answered: 1 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(1);
  });

  it('pre-creates every direction × disposition series and the per-direction histograms at 0', async () => {
    const t = await setup();
    const text = await t.registry.metrics();
    expect((await t.values('mikopbx_calls_total')).length).toBe(18);
    expect(text).toContain('mikopbx_calls_total{direction="internal",disposition="other"} 0');
    expect(text).toContain('mikopbx_call_duration_seconds_count{direction="outbound"} 0');
    expect(text).toContain('mikopbx_call_answer_delay_seconds_bucket{le="300",direction="inbound"} 0');
    expect(text).toContain('mikopbx_call_talk_seconds_total{direction="inbound"} 0');
    expect(text).toContain('mikopbx_cdr_records_total 0');
    expect(text).not.toMatch(/^mikopbx_cdr_last_record_timestamp_seconds /m); // absent until a record is counted
    expect(text).toMatch(/# HELP mikopbx_calls_total .*refreshed every 60 seconds/);
  });

  it('does not count the call being written at start as a call of its own when its other legs follow', async () => {
    const t = await setup();
    t.pbx.add(callLeg('inbound', 'straddle', T0, '201', { ring: 10 }));
    await start(t);
    // The rest of the call that owned the newest leg at start, then a new call.
    t.pbx.add(
      callLeg('inbound', 'straddle', T0 + 10, '202', { answerAfter: 2, talk: 50 }),
      callLeg('outbound', 'after', T0 + 70, '203', { answerAfter: 3, talk: 20 }),
    );
    for (let i = 0; i < 3; i++) await t.run();
    expect(await t.calls()).toEqual({ outbound: { answered: 1 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(1);
    expect(await t.value('mikopbx_call_talk_seconds_total', { direction: 'inbound' })).toBe(0);
  });

  it('keeps trying to find the newest id after a failed first run, then counts only from there', async () => {
    const t = await setup();
    t.pbx.add(callLeg('inbound', 'before', T0, '201', { answerAfter: 5 }));
    t.pbx.faults.push({ status: 500, body: '{"result":false}' });
    await expect(t.run()).rejects.toThrow(/HTTP 500/);
    expect(t.collector.cursor).toBeNull();
    t.pbx.add(callLeg('inbound', 'while-down', T0 + 50, '201', { answerAfter: 5 }));
    await start(t); // no backfill of what came before the successful start-up read
    t.pbx.add(callLeg('inbound', 'after', T0 + 90, '202', { answerAfter: 5 }));
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 1 } });
  });
});

describe('cdr collector: calls, not legs', () => {
  it('a trunk known only from its channel name still gets every direction × disposition series', async () => {
    const t = await setup(); // no providers snapshot (providers collector off or not yet run)
    await start(t);
    t.pbx.add(callLeg('inbound', 'through-trunk', T0, '201', { answerAfter: 3, talk: 30 }));
    await catchUp(t);
    const series = (await t.values('mikopbx_provider_calls_total')).filter((v) => v.labels.provider === TRUNK);
    expect(series.length).toBe(12);
    expect(series.filter((v) => v.value === 1).map((v) => `${v.labels.direction}/${v.labels.disposition}`)).toEqual(['inbound/answered']);
  });

  it('a queue call (several NOANSWER legs, one ANSWERED) is one answered call', async () => {
    const t = await setup({ providers: [provider(TRUNK)] });
    await start(t);
    t.pbx.add(
      callLeg('inbound', 'q', T0, '201', { ring: 15 }),
      callLeg('inbound', 'q', T0 + 0.1, '202', { ring: 15 }),
      callLeg('inbound', 'q', T0 + 0.2, '203', { ring: 15 }),
      callLeg('inbound', 'q', T0 + 15.5, '204', { answerAfter: 6, talk: 120 }),
    );
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 1 } });
    expect(await t.value('mikopbx_provider_calls_total', { provider: TRUNK, direction: 'inbound', disposition: 'answered' })).toBe(1);
    expect(await t.value('mikopbx_cdr_records_total')).toBe(4);
    expect(await t.value('mikopbx_call_answer_delay_seconds_count', { direction: 'inbound' })).toBe(1);
    expect(await t.value('mikopbx_call_answer_delay_seconds_sum', { direction: 'inbound' })).toBeCloseTo(21.5, 3);
    expect(await t.value('mikopbx_call_duration_seconds_sum', { direction: 'inbound' })).toBeCloseTo(141.5, 3);
    expect(await t.value('mikopbx_call_talk_seconds_total', { direction: 'inbound' })).toBe(120);
  });

  it('a transfer (several answered legs) is one call; talk time is the sum of billsec', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(
      callLeg('inbound', 'tx', T0, '201', { answerAfter: 3, talk: 40 }),
      { ...callLeg('internal', 'tx', T0 + 30, '201', '202', { answerAfter: 2, talk: 11 }) },
      { ...callLeg('inbound', 'tx', T0 + 43, '202', { answerAfter: 0, talk: 95 }) },
    );
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 1 } });
    expect(await t.value('mikopbx_call_talk_seconds_total', { direction: 'inbound' })).toBe(40 + 11 + 95);
    expect(await t.value('mikopbx_call_duration_seconds_count', { direction: 'inbound' })).toBe(1);
    expect(await t.value('mikopbx_call_duration_seconds_sum', { direction: 'inbound' })).toBeCloseTo(43 + 95, 3);
  });

  it('an unknown disposition (TORTURE) is other; otherwise the first leg decides an unanswered call', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(
      callLeg('outbound', 'torture', T0, '201', { disposition: 'TORTURE', ring: 2 }),
      callLeg('outbound', 'busy-first', T0 + 10, '201', { disposition: 'BUSY', ring: 1 }),
      callLeg('outbound', 'busy-first', T0 + 12, '201', { disposition: 'CANCEL', ring: 1 }),
      callLeg('internal', 'cancel', T0 + 20, '201', '202', { disposition: 'CANCEL', ring: 4 }),
      callLeg('internal', 'congestion', T0 + 30, '201', '202', { disposition: 'CONGESTION', ring: 1 }),
      callLeg('internal', 'chanunavail', T0 + 40, '201', '202', { disposition: 'CHANUNAVAIL', ring: 1 }),
      callLeg('inbound', 'noanswer', T0 + 50, '203', { disposition: 'NOANSWER' }),
      callLeg('inbound', 'short', T0 + 60, '203', { disposition: 'ANSWER', ring: 7 }), // answered in its last second
    );
    await catchUp(t);
    expect(await t.calls()).toEqual({
      outbound: { other: 1, busy: 1 },
      internal: { cancel: 1, failed: 2 },
      inbound: { noanswer: 1, answered: 1 },
    });
    // The ANSWER leg with billsec 0 was answered at its end.
    expect(await t.value('mikopbx_call_answer_delay_seconds_sum', { direction: 'inbound' })).toBeCloseTo(7, 3);
  });

  it('decides direction by provider source, then provider destination, else internal (channels or accounts)', async () => {
    const t = await setup({ providers: [provider(TRUNK), provider(TRUNK2)] });
    await start(t);
    t.pbx.add(
      // Inbound through TRUNK forwarded out through TRUNK2: inbound call, each provider counts it its way.
      callLeg('inbound', 'fwd', T0, '201', { answerAfter: 2, talk: 5 }),
      { ...callLeg('outbound', 'fwd', T0 + 8, '201', { answerAfter: 4, talk: 30, trunk: TRUNK2 }) },
      // Queue legs on Local channels: only from_account says it came from a trunk.
      { ...callLeg('inbound', 'local', T0 + 20, '201', { answerAfter: 2 }), src_chan: 'Local/201@internal-00000012;2' },
      callLeg('outbound', 'out', T0 + 40, '202', { answerAfter: 9 }),
      callLeg('internal', 'int', T0 + 60, '202', '203', { ring: 3 }),
    );
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 2 }, outbound: { answered: 1 }, internal: { noanswer: 1 } });
    expect(await t.value('mikopbx_provider_calls_total', { provider: TRUNK, direction: 'inbound', disposition: 'answered' })).toBe(2);
    expect(await t.value('mikopbx_provider_calls_total', { provider: TRUNK, direction: 'outbound', disposition: 'answered' })).toBe(1);
    expect(await t.value('mikopbx_provider_calls_total', { provider: TRUNK2, direction: 'outbound', disposition: 'answered' })).toBe(1);
    expect(await t.value('mikopbx_provider_calls_total', { provider: TRUNK2, direction: 'inbound', disposition: 'busy' })).toBe(0);
  });

  it('zeroes series for known providers and drops those of a deleted provider', async () => {
    const t = await setup({ providers: [provider(TRUNK), provider(TRUNK2)] });
    await start(t);
    expect((await t.values('mikopbx_provider_calls_total')).length).toBe(2 * 2 * 6);
    t.ctx.snapshot.providers = [provider(TRUNK)];
    await t.run();
    const left = await t.values('mikopbx_provider_calls_total');
    expect(left.length).toBe(12);
    expect(left.every((s) => s.labels.provider === TRUNK)).toBe(true);
  });
});

describe('cdr collector: exactly once across pages and runs', () => {
  it('counts a late long call inserted after shorter later calls (higher id, earlier start)', async () => {
    const t = await setup();
    await start(t);
    // The long call started first but its record is written only when it ends, 2 h later.
    t.pbx.add(callLeg('internal', 'short-1', T0 + 600, '202', '203', { answerAfter: 2, talk: 20 }));
    await t.run();
    t.pbx.add(callLeg('internal', 'short-2', T0 + 900, '202', '203', { answerAfter: 2, talk: 20 }));
    t.pbx.add(callLeg('inbound', 'long', T0, '201', { answerAfter: 10, talk: 7200 }));
    await catchUp(t);
    expect(await t.calls()).toEqual({ internal: { answered: 2 }, inbound: { answered: 1 } });
    expect(await t.value('mikopbx_call_duration_seconds_bucket', { direction: 'inbound', le: '7200' })).toBe(0);
    expect(await t.value('mikopbx_call_duration_seconds_bucket', { direction: 'inbound', le: '14400' })).toBe(1);
    // The newest record (by id) is the long call: its end time, converted from UTC+3 local time.
    expect(await t.value('mikopbx_cdr_last_record_timestamp_seconds')).toBeCloseTo(T0 + 7210, 3);
  });

  it('reads more than 1000 legs between two runs across pages and runs, with a bounded number of requests per run', async () => {
    const t = await setup({ maxPagesPerRun: 2 });
    await start(t);
    const expected: Record<string, Record<string, number>> = {};
    const bump = (d: string, disp: string) => ((expected[d] ??= {})[disp] = (expected[d]?.[disp] ?? 0) + 1);
    let n = 0;
    // 3,000 legs: calls of 1–4 legs, so calls straddle the 1000-row page boundaries.
    while (t.pbx.maxId - (startId.get(t) ?? 0) < 3000) {
      const id = `burst-${n}`;
      const size = (n % 4) + 1;
      const s = T0 + n;
      const kind = n % 3;
      const spec: LegSpec[] = [];
      for (let i = 0; i < size; i++) {
        const answered = i === size - 1 && n % 5 !== 0;
        const o = answered ? { answerAfter: 3, talk: 10 } : { ring: 5 };
        spec.push(
          kind === 0
            ? callLeg('inbound', id, s + i, `2${i}0`, o)
            : kind === 1
              ? callLeg('outbound', id, s + i, '201', o)
              : callLeg('internal', id, s + i, '201', `2${i}1`, o),
        );
      }
      t.pbx.add(...spec.slice(0, Math.min(spec.length, 3000 - (t.pbx.maxId - (startId.get(t) ?? 0)))));
      bump(kind === 0 ? 'inbound' : kind === 1 ? 'outbound' : 'internal', n % 5 === 0 ? 'noanswer' : 'answered');
      n++;
    }
    const perRun: number[] = [];
    for (let i = 0; i < 6; i++) perRun.push(await t.run());
    expect(Math.max(...perRun)).toBeLessThanOrEqual(2);
    expect(perRun.slice(0, 3)).toEqual([2, 1, 1]); // 3,000 legs: 2 pages, the last page, then the confirming read
    expect(await t.calls()).toEqual(expected);
    expect(await t.value('mikopbx_cdr_records_total')).toBe(3000);
    const sumCalls = Object.values(expected).reduce((a, d) => a + Object.values(d).reduce((x, y) => x + y, 0), 0);
    expect(sumCalls).toBe(n);
  });

  it('counts a call split across a page boundary once, with the leg from the next page', async () => {
    const t = await setup({ pageSize: 3 });
    await start(t);
    t.pbx.add(
      callLeg('internal', 'a', T0, '201', '202', { answerAfter: 1, talk: 5 }),
      callLeg('inbound', 'split', T0 + 10, '201', { ring: 10 }),
      callLeg('inbound', 'split', T0 + 10.1, '202', { ring: 10 }),
      // page boundary here
      callLeg('inbound', 'split', T0 + 20, '203', { answerAfter: 2, talk: 50 }),
      callLeg('internal', 'b', T0 + 30, '201', '202', { ring: 3 }),
    );
    expect(await t.run()).toBe(2);
    expect(await t.calls()).toEqual({ internal: { answered: 1 }, inbound: { answered: 1 } });
    await catchUp(t);
    expect(await t.calls()).toEqual({ internal: { answered: 1, noanswer: 1 }, inbound: { answered: 1 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(5);
  });

  it('holds the newest call until a later run confirms no more legs came (legs written one by one)', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(callLeg('inbound', 'q', T0, '201', { ring: 15 }));
    await t.run();
    expect(await t.calls()).toEqual({}); // maybe not all legs of q are written yet
    t.pbx.add(callLeg('inbound', 'q', T0 + 15, '202', { answerAfter: 2 }));
    await t.run();
    expect(await t.calls()).toEqual({});
    await t.run();
    expect(await t.calls()).toEqual({ inbound: { answered: 1 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(2);
  });

  it('never counts a call twice when legs of it turn up after it was counted', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(callLeg('inbound', 'x', T0, '201', { ring: 10 }), callLeg('internal', 'y', T0 + 5, '202', '203', { answerAfter: 1, talk: 7 }));
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { noanswer: 1 }, internal: { answered: 1 } });
    t.pbx.add(callLeg('inbound', 'x', T0 + 11, '204', { answerAfter: 1, talk: 33 }), callLeg('internal', 'z', T0 + 50, '202', '203', { ring: 2 }));
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { noanswer: 1 }, internal: { answered: 1, noanswer: 1 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(4);
    expect(await t.value('mikopbx_call_talk_seconds_total', { direction: 'inbound' })).toBe(33); // legs and talk stay exact
  });

  it.each([
    ['HTTP 503', { status: 503, body: '{"result":false,"messages":{"error":["queue full"]}}' }, /503/],
    ['truncated JSON', { status: 200, body: '{"result":true,"data":{"records":[{"id":' }, /truncated JSON/],
    [
      'a malformed row',
      {
        status: 200,
        body: JSON.stringify({
          result: true,
          data: { records: [{ id: 99999, linkedid: 'x', start: 'garbage' }], pagination: { hasMore: false } },
          meta: { timestamp: '2026-04-10T14:22:31+03:00' },
        }),
      },
      /start/,
    ],
    ['a page without offset', { status: 200, body: JSON.stringify({ result: true, data: { records: [], pagination: { hasMore: false } } }) }, /meta.timestamp/],
  ])('a run failing at its second page (%s) loses nothing and counts nothing twice', async (_name, fault, re) => {
    const t = await setup({ pageSize: 4 });
    await start(t);
    for (let i = 0; i < 10; i++) {
      t.pbx.add(
        callLeg('inbound', `c${i}`, T0 + 100 * i, '201', { ring: 5 }),
        callLeg('inbound', `c${i}`, T0 + 100 * i + 5, '202', { answerAfter: 2, talk: 10 + i }),
      );
    }
    const real = t.pbx.handle.bind(t.pbx);
    let served = 0;
    t.pbx.handle = (q) => (++served === 2 ? (t.pbx.requests.push(q), fault) : real(q));
    await expect(t.run()).rejects.toThrow(re);
    const afterFail = { calls: await t.calls(), records: await t.value('mikopbx_cdr_records_total'), cursor: t.collector.cursor };
    expect(afterFail).toEqual({ calls: { inbound: { answered: 1 } }, records: 2, cursor: (startId.get(t) ?? 0) + 4 });
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 10 } });
    expect(await t.value('mikopbx_cdr_records_total')).toBe(20);
    expect(await t.value('mikopbx_call_talk_seconds_total', { direction: 'inbound' })).toBe(10 * 10 + 45);
  });

  it('stops paging when the request budget runs low, leaving room for the status polls', async () => {
    let remaining = 40;
    const t = await setup({ pageSize: 10, budgetRemaining: () => remaining, budgetReserve: 8 });
    await start(t);
    for (let i = 0; i < 60; i++) t.pbx.add(callLeg('internal', `b${i}`, T0 + i, '201', '202', { ring: 2 }));
    expect(await t.run()).toBe(5); // the per-run bound
    remaining = 8;
    expect(await t.run()).toBe(1); // only the one request every run needs
    remaining = 40;
    await catchUp(t);
    expect(await t.calls()).toEqual({ internal: { noanswer: 60 } });
  });

  it('asks for smaller pages after a timeout, and grows them back', async () => {
    const t = await setup({ pageSize: 1000 });
    await start(t);
    const get = t.pbx.get;
    let fail = true;
    const source = new V3CdrSource(
      async (path, q) => {
        if (fail) {
          fail = false;
          throw new PbxApiError('timeout', path, 'no complete answer within 10 s');
        }
        return get(path, q);
      },
      () => NOW,
    );
    t.ctx.api = { generation: 'v3', cdr: source } as unknown as PbxApi;
    await expect(t.run()).rejects.toThrow(/no complete answer/);
    await t.run();
    expect(t.pbx.requests.at(-1)?.limit).toBe('500');
    await t.run();
    expect(t.pbx.requests.at(-1)?.limit).toBe('1000');
  });

  it('a restarted exporter counts anew from the newest id, without backfill', async () => {
    const pbx = new FakeCdrPbx(NOW);
    const first = await setup({ pbx });
    await start(first);
    pbx.add(callLeg('inbound', 'a', T0, '201', { answerAfter: 1 }), callLeg('inbound', 'b', T0 + 5, '201', { ring: 3 }));
    await catchUp(first);
    expect(await first.calls()).toEqual({ inbound: { answered: 1, noanswer: 1 } });

    pbx.add(callLeg('outbound', 'during-restart', T0 + 10, '201', { answerAfter: 1 }));
    const second = await setup({ pbx });
    await start(second);
    expect(await second.calls()).toEqual({});
    pbx.add(callLeg('internal', 'c', T0 + 20, '201', '202', { answerAfter: 1 }));
    await catchUp(second);
    expect(await second.calls()).toEqual({ internal: { answered: 1 } });
    expect(await second.value('mikopbx_cdr_records_total')).toBe(1);
  });

  it('after an outage, checks the newest id once: continues if the history is intact', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(callLeg('inbound', 'during-outage', T0, '201', { answerAfter: 2 }));
    t.collector.requestCursorCheck();
    expect(await t.run()).toBe(2); // newest id, then the page
    await catchUp(t);
    expect(await t.calls()).toEqual({ inbound: { answered: 1 } }); // ended after exporter start: counted
  });

  it('after an outage, starts counting anew when the PBX history was replaced (ids went backwards)', async () => {
    const t = await setup();
    await start(t);
    t.pbx.add(callLeg('inbound', 'a', T0, '201', { answerAfter: 2 }), callLeg('inbound', 'b', T0 + 9, '201', { answerAfter: 2 }));
    await catchUp(t);
    // Restored from an older backup: fewer rows, ids below the cursor.
    const restored = new FakeCdrPbx(NOW, 180, 500);
    restored.add(callLeg('outbound', 'old', T0 - 999, '201', { answerAfter: 2 }));
    t.ctx.api = { generation: 'v3', cdr: new V3CdrSource(restored.get, () => NOW) } as unknown as PbxApi;
    t.collector.requestCursorCheck();
    await t.run();
    expect(t.collector.cursor).toBe(500);
    expect(t.lines.join('')).toMatch(/history was replaced/);
    restored.add(callLeg('internal', 'new', T0 + 50, '201', '202', { ring: 2 }));
    await t.run();
    await t.run();
    expect(await t.calls()).toEqual({ inbound: { answered: 2 }, internal: { noanswer: 1 } });
  });

  it('derives the same Unix times for a PBX at UTC+3 and at UTC-5', async () => {
    const results = [];
    for (const offsetMinutes of [180, -300, 0]) {
      const t = await setup({ offsetMinutes });
      await start(t);
      t.pbx.add(callLeg('inbound', 'tz', T0, '201', { answerAfter: 12, talk: 100 }));
      await catchUp(t);
      results.push([
        await t.value('mikopbx_cdr_last_record_timestamp_seconds'),
        await t.value('mikopbx_call_answer_delay_seconds_sum', { direction: 'inbound' }),
        await t.value('mikopbx_call_duration_seconds_sum', { direction: 'inbound' }),
      ]);
    }
    expect(results[0]?.[0]).toBeCloseTo(T0 + 112, 3);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

describe('CdrTracker', () => {
  const leg = (id: number, linkedid: string) => ({
    id,
    linkedid,
    start: id,
    answer: null,
    end: id + 1,
    srcChannel: '',
    dstChannel: '',
    srcNum: '',
    dstNum: '',
    fromAccount: '',
    toAccount: '',
    disposition: 'NOANSWER',
    duration: 1,
    billsec: 0,
  });
  const pageOf = (ids: Array<[number, string]>, hasMore = false): CdrPage => ({
    legs: ids.map(([i, l]) => leg(i, l)),
    hasMore,
    lastId: ids.at(-1)?.[0] ?? 0,
    utcOffsetMinutes: 0,
  });

  it('bounds its memory of counted calls by count and age', () => {
    let now = 0;
    const tr = new CdrTracker<string>({ recentMax: 10, recentMaxAgeMs: 1000, now: () => now });
    tr.start(0);
    const counted: string[] = [];
    tr.beginRun();
    tr.applyPage(
      pageOf(Array.from({ length: 50 }, (_, i) => [i + 1, `c${i}`] as [number, string])),
      (l) => (counted.push(l[0]?.linkedid ?? ''), 'x'),
      () => undefined,
    );
    expect(counted.length).toBe(49); // the newest waits for confirmation
    expect(tr.recentCalls).toBe(10);
    now = 2000;
    tr.beginRun();
    tr.applyPage(
      pageOf([]),
      () => 'x',
      () => undefined,
    );
    expect(tr.recentCalls).toBe(1); // older entries aged out
    expect(tr.pendingLegs).toBe(0);
  });

  it('keeps only the call that may continue on the next page pending', () => {
    const tr = new CdrTracker<string>({ recentMax: 100, recentMaxAgeMs: 1e9, now: () => 0 });
    tr.start(0);
    tr.beginRun();
    const counted: string[] = [];
    const onCall = (l: { linkedid: string }[]) => (counted.push(`${l[0]?.linkedid}:${l.length}`), 'x');
    tr.applyPage(
      pageOf(
        [
          [1, 'a'],
          [2, 'b'],
          [3, 'b'],
        ],
        true,
      ),
      onCall,
      () => undefined,
    );
    expect(counted).toEqual(['a:1']);
    expect(tr.pendingLegs).toBe(2);
    tr.applyPage(
      pageOf(
        [
          [4, 'b'],
          [5, 'c'],
        ],
        false,
      ),
      onCall,
      () => undefined,
    );
    expect(counted).toEqual(['a:1', 'b:3']);
    tr.beginRun();
    tr.applyPage(pageOf([]), onCall, () => undefined);
    expect(counted).toEqual(['a:1', 'b:3', 'c:1']);
  });
});

describe('CdrTracker: calls written at the same time', () => {
  const leg = (id: number, linkedid: string, disposition = 'NOANSWER') => ({
    id,
    linkedid,
    start: id,
    answer: null,
    end: id + 1,
    srcChannel: '',
    dstChannel: '',
    srcNum: '',
    dstNum: '',
    fromAccount: '',
    toAccount: '',
    disposition,
    duration: 1,
    billsec: 0,
  });
  const pageOf = (rows: Array<[number, string]>, hasMore: boolean): CdrPage => ({
    legs: rows.map(([i, l]) => leg(i, l)),
    hasMore,
    lastId: rows.at(-1)?.[0] ?? 0,
    utcOffsetMinutes: 0,
  });

  it('holds back a call whose legs interleave with the newest call, so it is counted whole', () => {
    const tr = new CdrTracker<string>({ recentMax: 100, recentMaxAgeMs: 1e9, now: () => 0 });
    tr.start(0);
    const counted: string[] = [];
    const late: string[] = [];
    const onCall = (l: { linkedid: string; id: number }[]) => (counted.push(`${l[0]?.linkedid}:${l.map((x) => x.id).join('+')}`), 'x');
    tr.beginRun();
    // a and b written at once: b's leg 2 sits inside a's range, so b may go on like a.
    tr.applyPage(
      pageOf(
        [
          [1, 'a'],
          [2, 'b'],
          [3, 'a'],
        ],
        true,
      ),
      onCall,
      (l) => late.push(l.linkedid),
    );
    expect(counted).toEqual([]);
    tr.applyPage(
      pageOf(
        [
          [4, 'b'],
          [5, 'c'],
          [6, 'c'],
        ],
        false,
      ),
      onCall,
      (l) => late.push(l.linkedid),
    );
    expect(counted).toEqual(['a:1+3', 'b:2+4']);
    tr.beginRun();
    tr.applyPage(pageOf([], false), onCall, (l) => late.push(l.linkedid));
    expect(counted).toEqual(['a:1+3', 'b:2+4', 'c:5+6']);
    expect(late).toEqual([]);
  });

  it('still counts calls written one after the other at once (only the newest waits)', () => {
    const tr = new CdrTracker<string>({ recentMax: 100, recentMaxAgeMs: 1e9, now: () => 0 });
    tr.start(0);
    const counted: string[] = [];
    tr.beginRun();
    tr.applyPage(
      pageOf(
        [
          [1, 'a'],
          [2, 'a'],
          [3, 'b'],
          [4, 'c'],
          [5, 'c'],
        ],
        false,
      ),
      (l) => (counted.push(l[0]?.linkedid ?? ''), 'x'),
      () => undefined,
    );
    expect(counted).toEqual(['a', 'b']);
  });

  it('skips the rest of the call that owned the newest leg at start', () => {
    const tr = new CdrTracker<string>({ recentMax: 100, recentMaxAgeMs: 1e9, now: () => 0 });
    tr.start(10, 'x');
    const counted: string[] = [];
    const late: string[] = [];
    tr.beginRun();
    tr.applyPage(
      pageOf(
        [
          [11, 'x'],
          [12, 'y'],
          [13, 'x'],
          [14, 'z'],
        ],
        false,
      ),
      (l) => (counted.push(l[0]?.linkedid ?? ''), 'x'),
      (l) => late.push(l.linkedid),
    );
    expect(counted).toEqual(['y']);
    expect(late).toEqual([]);
    expect(tr.cursor).toBe(14);
    expect(tr.pendingLegs).toBe(1);
  });
});

describe('cdr collector: randomized exactness', () => {
  /** Small deterministic PRNG (mulberry32). */
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const DISPOSITIONS = ['NOANSWER', 'BUSY', 'CANCEL', 'CONGESTION', 'CHANUNAVAIL', 'TORTURE', 'INVALIDARGS'];
  const BUCKET: Record<string, string> = {
    NOANSWER: 'noanswer',
    BUSY: 'busy',
    CANCEL: 'cancel',
    CONGESTION: 'failed',
    CHANUNAVAIL: 'failed',
    TORTURE: 'other',
    INVALIDARGS: 'other',
  };

  it.each(Array.from({ length: 25 }, (_, i) => i + 1))('seed %i: counters equal the truth whatever the paging, bounds and failures', async (seed) => {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
    const t = await setup({ pageSize: 1 + Math.floor(r() * 7), maxPagesPerRun: 1 + Math.floor(r() * 4) });
    await start(t);
    const truth: Record<string, Record<string, number>> = {};
    let talk = 0;
    let legsTotal = 0;
    // Legs not yet written; a call's legs are written one by one, finishing before the next run.
    const queue: LegSpec[][] = [];
    for (let c = 0; c < 120; c++) {
      const kind = pick(['inbound', 'outbound', 'internal'] as const);
      const n = 1 + Math.floor(r() * 5);
      const answeredLeg = r() < 0.6 ? Math.floor(r() * n) : -1;
      const s = T0 + c * 10 - Math.floor(r() * 3) * 3600; // some long calls arrive late
      const id = `r${seed}-${c}`;
      const spec: LegSpec[] = [];
      for (let i = 0; i < n; i++) {
        const o = i === answeredLeg ? { answerAfter: 2, talk: 1 + Math.floor(r() * 100) } : { ring: 3, disposition: i === 0 ? pick(DISPOSITIONS) : 'NOANSWER' };
        spec.push(
          kind === 'inbound'
            ? callLeg('inbound', id, s + i, `20${i}`, o)
            : kind === 'outbound'
              ? callLeg('outbound', id, s + i, '201', o)
              : callLeg('internal', id, s + i, '201', `21${i}`, o),
        );
        if (i === answeredLeg) talk += (o as { talk: number }).talk;
      }
      const disposition = answeredLeg >= 0 ? 'answered' : (BUCKET[spec[0]?.disposition ?? ''] as string);
      (truth[kind] ??= {})[disposition] = (truth[kind]?.[disposition] ?? 0) + 1;
      legsTotal += n;
      queue.push(spec);
    }
    let partial: LegSpec[] = [];
    while (queue.length > 0 || partial.length > 0) {
      // Finish the call left half-written, then write a random number of calls, maybe half of one more.
      t.pbx.add(...partial);
      partial = [];
      for (let k = Math.floor(r() * 8); k > 0 && queue.length > 0; k--) t.pbx.add(...(queue.shift() as LegSpec[]));
      if (queue.length > 0 && r() < 0.5) {
        const next = queue.shift() as LegSpec[];
        const cut = Math.floor(r() * next.length);
        t.pbx.add(...next.slice(0, cut));
        partial = next.slice(cut);
      }
      if (r() < 0.25) t.pbx.faults.push({ status: 500, body: '{"result":false}' });
      await t.run().catch(() => undefined);
    }
    await catchUp(t, 2000);
    expect(await t.calls()).toEqual(truth);
    expect(await t.value('mikopbx_cdr_records_total')).toBe(legsTotal);
    const talkTotal = (await t.values('mikopbx_call_talk_seconds_total')).reduce((a, s) => a + s.value, 0);
    expect(talkTotal).toBe(talk);
  });
});
