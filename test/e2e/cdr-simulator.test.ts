import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN, DEFAULT_PASSWORD, startSimulator, type Simulator, type TzOffset } from '../../sim/index.js';
import { expectEqualsTruth, expectHistogramsMatch, series } from '../helpers/cdr-truth.js';
import { PbxTarget } from '../../src/target.js';
import { captureLogger, testConfig } from '../helpers/fixtures.js';

// The exporter against the simulator's faithful v3 /cdr: counters must equal the simulator's
// own ground truth exactly, for every series.

const CDR_PATH = '/pbxcore/api/v3/cdr';

describe('cdr collector against the simulator', () => {
  let sim: Simulator | null = null;
  let target: PbxTarget | null = null;
  afterEach(async () => {
    target?.close();
    await sim?.close();
    sim = null;
    target = null;
  });

  async function setup(tzOffsetMinutes: TzOffset, extra: Parameters<typeof startSimulator>[0] = {}) {
    sim = await startSimulator({ tzOffsetMinutes, historyCalls: 60, seed: 7, ...extra });
    const { logger } = await captureLogger('silent');
    target = new PbxTarget({
      config: testConfig({ url: sim.url, apiKey: sim.apiKey, collectors: ['providers', 'cdr'], maxRequestsPerMinute: 120 }),
      logger,
    });
    await target.runStatusPoll(); // providers known: zero series for idle trunks
    const startId = sim.model.maxCdrId();
    await target.runCdrPoll(); // finds the newest id, counts nothing
    return { sim, target, startId };
  }

  /** Runs the cdr poll until it reads nothing new; returns the CDR requests of each run. */
  async function catchUp(s: Simulator, t: PbxTarget): Promise<number[]> {
    const perRun: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = s.requests.filter((r) => r.path === CDR_PATH).length;
      await t.runCdrPoll();
      const sent = s.requests.filter((r) => r.path === CDR_PATH);
      perRun.push(sent.length - before);
      const last = sent.at(-1);
      if (sent.length - before === 1 && Number(last?.query.idFrom) === s.model.maxCdrId()) {
        // One more run confirms the newest call.
        await t.runCdrPoll();
        return perRun;
      }
    }
    return perRun;
  }

  it.each([
    ['UTC+3', 180],
    ['UTC-5', -300],
  ])('every series equals the simulator truth after a burst of mixed calls (PBX at %s)', async (_name, offset) => {
    const { sim, target, startId } = await setup(offset);
    expect(series(target.metricsText()).get('mikopbx_cdr_records_total')).toBe(0);
    expect(sim.model.truth({ cdrAfterId: startId }).cdr.callsTotal).toBe(0);

    // More than 1000 legs between two runs: read over several pages and runs.
    const burst = sim.model.generateCalls(1200);
    expect(burst.legs).toBeGreaterThan(1000);
    // Calls that were in progress at start end now: late records, earlier starts, higher ids.
    for (const call of sim.model.activeCalls()) sim.model.endCall(call.linkedid);
    const perRun = await catchUp(sim, target);
    expect(Math.max(...perRun)).toBeLessThanOrEqual(5);

    const truth = sim.model.truth({ cdrAfterId: startId }).cdr;
    expect(truth.callsTotal).toBeGreaterThan(1200);
    // The mix covers what matters: queues, transfers, every disposition bucket, unknown ones too.
    const dispositions = new Set(
      Object.values(truth.calls).flatMap((d) =>
        Object.entries(d)
          .filter(([, n]) => n > 0)
          .map(([k]) => k),
      ),
    );
    expect([...dispositions].sort()).toEqual(['answered', 'busy', 'cancel', 'failed', 'noanswer', 'other']);
    expect(truth.records).toBeGreaterThan(truth.callsTotal);
    expectEqualsTruth(target.metricsText(), truth);
    expectHistogramsMatch(target.metricsText(), sim.model.completedCalls(startId));

    // A second batch after the first was counted: still exact, nothing counted twice.
    sim.model.generateCalls(150);
    await catchUp(sim, target);
    expectEqualsTruth(target.metricsText(), sim.model.truth({ cdrAfterId: startId }).cdr);
  });

  // P9: CDR times are PBX-local strings without an offset; the exporter converts each page with
  // the offset of the answer it came in (meta.timestamp). Across a DST change the offset of the
  // answers changes between two pages, and the autumn hour repeats its wall-clock times.
  it.each([
    // Europe/Berlin 2026: CET +01:00 → CEST +02:00 on 29 March, back on 25 October, at 01:00 UTC.
    ['spring forward (Europe/Berlin, 29 March 2026)', Date.UTC(2026, 2, 29, 1), 60, 120],
    ['fall back, the repeated hour (Europe/Berlin, 25 October 2026)', Date.UTC(2026, 9, 25, 1), 120, 60],
  ])('a DST change between two CDR pages: %s; every call counted once, with its true end time', async (_name, change, before, after) => {
    let now = change - 3 * 3600_000;
    const zone = (ms: number) => (ms < change ? before : after);
    const { sim, target, startId } = await setup(zone, { now: () => now, activeCalls: 0, historyCalls: 20 });
    const offsetOfAnswers = async () =>
      ((await (await fetch(`${sim.url}/pbxcore/api/v3/system:ping`)).json()) as { meta: { timestamp: string } }).meta.timestamp.slice(-6);
    const hhmm = (minutes: number) => `+${String(minutes / 60).padStart(2, '0')}:00`;

    // Calls that all ended before the change, read with answers in the old offset.
    now = change - 5 * 60_000;
    sim.model.generateCalls(150);
    expect(sim.model.completedCalls(startId).every((c) => c.endMs < change)).toBe(true);
    expect(await offsetOfAnswers()).toBe(hhmm(before));
    await catchUp(sim, target);
    expectEqualsTruth(target.metricsText(), sim.model.truth({ cdrAfterId: startId }).cdr);
    const counted = sim.model.maxCdrId();

    // Calls that all started after the change (in autumn on the same wall-clock times as some of
    // the first ones), read with answers in the new offset.
    now = change + 2 * 3600_000;
    sim.model.generateCalls(150);
    expect(sim.model.completedCalls(counted).every((c) => c.startMs >= change)).toBe(true);
    expect(await offsetOfAnswers()).toBe(hhmm(after));
    await catchUp(sim, target);
    const truth = sim.model.truth({ cdrAfterId: startId }).cdr;
    expect(truth.callsTotal).toBe(300);
    expectEqualsTruth(target.metricsText(), truth); // includes the newest record's end time
    expectHistogramsMatch(target.metricsText(), sim.model.completedCalls(startId));
  });

  it('stays exact through failed runs (HTTP 500, truncated or malformed JSON, wrong shape, result:false)', async () => {
    const { sim, target, startId } = await setup(180);
    sim.model.generateCalls(1500);
    const faults = ['http-500', 'truncated-json', 'malformed-json', 'wrong-shape', 'result-false'] as const;
    let failed = 0;
    for (let i = 0; i < 12; i++) {
      const kind = faults[i / 2];
      if (i % 2 === 0 && kind) sim.faults.add({ kind, paths: [CDR_PATH], count: 1 });
      await target.runCdrPoll();
      if (series(target.metricsText()).get('mikopbx_collector_success{collector="cdr"}') === 0) failed++;
    }
    expect(failed).toBe(faults.length);
    await catchUp(sim, target);
    expectEqualsTruth(target.metricsText(), sim.model.truth({ cdrAfterId: startId }).cdr);
  });

  it('stays exact while calls keep ending between and during polls (living PBX)', async () => {
    let now = Date.now();
    const { sim, target, startId } = await setup(180, { now: () => now, activeCalls: 12, cdrCallsPerSecond: 1.5 });
    for (let i = 0; i < 120; i++) {
      now += 5000;
      sim.tick();
      if (i % 4 === 0) await target.runCdrPoll();
    }
    for (const call of sim.model.activeCalls()) sim.model.endCall(call.linkedid);
    await catchUp(sim, target);
    const truth = sim.model.truth({ cdrAfterId: startId }).cdr;
    expect(truth.callsTotal).toBeGreaterThan(150);
    expectEqualsTruth(target.metricsText(), truth);
  });

  it('legacy PBX: cdr not started (said once, nothing exported); after an upgrade to v3 it starts and counts exactly', async () => {
    sim = await startSimulator({ mode: 'legacy', seed: 7, historyCalls: 30 });
    const { logger, lines } = await captureLogger('info');
    target = new PbxTarget({
      config: testConfig({
        url: sim.url,
        apiKey: sim.apiKey,
        login: DEFAULT_LOGIN,
        password: DEFAULT_PASSWORD,
        collectors: ['peers', 'providers', 'calls', 'cdr'],
      }),
      logger,
    });
    await target.runStatusPoll();
    await target.runCdrPoll();
    await target.runCdrPoll();
    expect(target.isReady()).toBe(true);
    expect(target.metricsText()).not.toMatch(/mikopbx_calls_total|mikopbx_cdr_|collector="cdr"/);
    expect(lines.filter((l) => l.includes('cdr collector not started'))).toHaveLength(1);
    expect(sim.requests.filter((r) => r.path === CDR_PATH)).toHaveLength(0);

    sim.setMode('v3');
    await target.runStatusPoll(); // legacy routes answer 404 now
    await target.runStatusPoll(); // detects v3
    expect(target.generation).toBe('v3');
    expect(lines.filter((l) => l.includes('cdr collector started'))).toHaveLength(1);
    const startId = sim.model.maxCdrId();
    await target.runCdrPoll(); // newest id: counting starts here
    sim.model.generateCalls(300);
    await catchUp(sim, target);
    expectEqualsTruth(target.metricsText(), sim.model.truth({ cdrAfterId: startId }).cdr);
    expect(series(target.metricsText()).get('mikopbx_collector_success{collector="cdr"}')).toBe(1);
  });
});
