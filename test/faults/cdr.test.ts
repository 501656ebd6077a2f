import { describe, expect, it } from 'vitest';
import type { FaultKind } from '../../sim/index.js';
import { expectEqualsTruth } from '../helpers/cdr-truth.js';
import { FakeClock, counterSamples, sample, seen, type Harness } from '../helpers/harness.js';
import { SIM_API_KEY, type Simulator } from '../helpers/sim.js';
import { useSimHarness } from '../helpers/sim-harness.js';
import { toolOrSkip, promtoolCheckMetrics, promtoolCheckPages } from '../helpers/tools.js';

// Faults in the middle of a CDR backlog (several 1000-leg pages): the failed run keeps what its
// earlier pages counted, sends nothing it should not, and once the PBX answers again every
// completed-call series equals the simulator's truth: nothing lost, nothing counted twice.

const KEY = SIM_API_KEY;
const CDR_PATH = '/pbxcore/api/v3/cdr';
const promtool = toolOrSkip('promtool');

describe('fault injection: CDR paging', () => {
  const env = useSimHarness();

  /** A v3 PBX with a CDR backlog of several pages after the exporter's starting point. */
  async function setupBacklog() {
    const clock = new FakeClock();
    const pbx = await env.sim(clock, { historyCalls: 20 });
    // The scheduler runs cdr once at start (the newest id); the test drives every later run.
    const h = await env.harness(
      { url: pbx.url, apiKey: KEY, timeoutSeconds: 0.4, collectors: ['peers', 'providers', 'calls', 'cdr'], cdrPollIntervalSeconds: 3600 },
      clock,
    );
    await h.exporter.target.runCdrPoll();
    const startId = pbx.model.maxCdrId();
    expect(sample(await h.metrics(), 'mikopbx_cdr_records_total')).toBe(0);
    const burst = pbx.model.generateCalls(2500);
    expect(burst.legs).toBeGreaterThan(3000); // more than three pages
    return { sim: pbx, h, clock, startId };
  }

  const cdrRequests = (sim: Simulator) => sim.requests.filter((r) => r.path === CDR_PATH);

  /** Runs cdr (one per minute, within the request budget) until the newest record is read and confirmed. */
  async function catchUp(sim: Simulator, harness: Harness, clock: FakeClock): Promise<void> {
    for (let i = 0; i < 30; i++) {
      clock.advance(60_000);
      const before = cdrRequests(sim).length;
      await harness.exporter.target.runCdrPoll();
      const sent = cdrRequests(sim);
      if (sent.length - before === 1 && sent.at(-1)?.status === 200 && Number(sent.at(-1)?.query.idFrom) === sim.model.maxCdrId()) {
        clock.advance(60_000);
        await harness.exporter.target.runCdrPoll(); // confirms the newest call
        return;
      }
    }
    throw new Error('the CDR backlog was not read within 30 runs');
  }

  /** CDR counters of a page (completed calls, talk time, legs, histograms). */
  const cdrCounters = (text: string) => new Map([...counterSamples(text)].filter(([k]) => !k.startsWith('mikopbx_api_requests_total')));

  it('HTTP 429 on the second page: nothing is sent during the ban, then the counters equal the truth', async () => {
    const { sim, h, clock, startId } = await setupBacklog();
    const beforeRun = cdrCounters(await h.metrics());
    sim.faults.set({ kind: 'status-429', paths: [CDR_PATH], skip: 1, count: 1 });
    const sentBefore = sim.requests.length;
    await h.exporter.target.runCdrPoll();
    // Page one, then the 429, then nothing more in this run.
    expect(sim.requests.slice(sentBefore).map((r) => [r.path, r.status])).toEqual([
      [CDR_PATH, 200],
      [CDR_PATH, 429],
    ]);
    const tripAt = clock.now();
    const failed = await h.metrics();
    expect(sample(failed, 'mikopbx_collector_success{collector="cdr"}')).toBe(0);
    // Page one stays counted: progress is kept, not rolled back, no series dropped.
    const kept = cdrCounters(failed);
    expect([...kept.keys()]).toEqual([...beforeRun.keys()]);
    expect(kept.get('mikopbx_cdr_records_total')).toBeGreaterThan(0);
    expect(kept.get('mikopbx_cdr_records_total')).toBeLessThan(sim.model.truth({ cdrAfterId: startId }).cdr.records);
    if (promtool) expect(promtoolCheckMetrics(promtool, failed).output).toBe('');

    // Status and cdr polls on schedule through the whole 5-minute ban: not one request.
    const sentAtBan = sim.requests.length;
    while (clock.now() + 30_000 < tripAt + 300_000) {
      clock.advance(30_000);
      await h.poll();
      await h.exporter.target.runCdrPoll();
      const text = await h.metrics();
      expect(sample(text, 'mikopbx_up')).toBe(0);
      expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(0);
      expect(cdrCounters(text)).toEqual(kept);
    }
    expect(sim.requests.length).toBe(sentAtBan);

    clock.advance(tripAt + 305_000 - clock.now());
    await catchUp(sim, h, clock);
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(1);
    expectEqualsTruth(text, sim.model.truth({ cdrAfterId: startId }).cdr);
    expect(sim.stats.rateLimited).toBe(1);
  });

  const PAGE_FAULTS: Array<{ kind: FaultKind; reason: string }> = [
    { kind: 'reset', reason: 'network' },
    { kind: 'hang', reason: 'timeout' },
    { kind: 'malformed-json', reason: 'parse' },
    { kind: 'truncated-json', reason: 'parse' },
  ];

  it.each(PAGE_FAULTS)(
    '$kind on the second page: the run fails ($reason), keeps page one, and catching up counts every call once',
    async ({ kind, reason }) => {
      const { sim, h, clock, startId } = await setupBacklog();
      const logFrom = h.lines.length;
      const beforeRun = cdrCounters(await h.metrics());
      sim.faults.set({ kind, paths: [CDR_PATH], skip: 1, count: 1 });
      const before = cdrRequests(sim).length;
      await h.exporter.target.runCdrPoll();
      expect(cdrRequests(sim).length - before).toBe(2); // no retry within the run

      const failed = await h.metrics();
      expect(sample(failed, 'mikopbx_collector_success{collector="cdr"}')).toBe(0);
      // The status collectors are not touched by a CDR fault.
      expect(sample(failed, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
      // Nothing dropped or rolled back: every counter at least where it was, page one counted.
      const kept = cdrCounters(failed);
      expect([...kept.keys()]).toEqual([...beforeRun.keys()]);
      for (const [series, v] of beforeRun) expect(kept.get(series), series).toBeGreaterThanOrEqual(v);
      expect(kept.get('mikopbx_cdr_records_total')).toBeGreaterThan(0);
      if (promtool) expect(promtoolCheckMetrics(promtool, failed).output).toBe('');
      const warnings = h.lines.slice(logFrom).filter((l) => l.includes('"level":"warn"') && l.includes('"collector":"cdr"'));
      expect(warnings.length, h.lines.slice(logFrom).join('\n')).toBeGreaterThan(0);
      for (const w of warnings) expect(w).toContain(`"reason":"${reason}"`);

      await catchUp(sim, h, clock);
      const text = await h.metrics();
      expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(1);
      for (const [series, v] of kept) expect(counterSamples(text).get(series) ?? 0, series).toBeGreaterThanOrEqual(v);
      expectEqualsTruth(text, sim.model.truth({ cdrAfterId: startId }).cdr);
    },
  );

  it.skipIf(!promtool)('promtool check metrics: every page scraped during the CDR faults is valid', () => {
    expect(seen.pages.length).toBeGreaterThan(10);
    expect(promtoolCheckPages(promtool as string, seen.pages)).toEqual([]);
  });
});
