import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultKind } from '../../src/simulator/index.js';
import { FakeClock, counterSamples, httpGet, sample, seen, startHarness, type Harness } from '../helpers/harness.js';
import { SIM_API_KEY, V3_PATHS, startSim, type Simulator } from '../helpers/sim.js';
import { toolOrSkip, promtoolCheckPages } from '../helpers/tools.js';

const KEY = SIM_API_KEY;
const PASSWORD = 'legacy-Pa55word!';
const STATUS = ['peers', 'providers', 'calls'];

/** Each bad answer, and the reason the exporter must log for it. */
const FAULTS: Array<{ kind: FaultKind; reason: string; message: RegExp }> = [
  { kind: 'http-500', reason: 'http', message: /HTTP 500/ },
  { kind: 'html-200', reason: 'parse', message: /HTML page instead of JSON/ },
  { kind: 'truncated-json', reason: 'parse', message: /malformed or truncated JSON/ },
  // The simulator's malformed JSON is what PHP really produces: a warning printed before it.
  { kind: 'malformed-json', reason: 'parse', message: /PHP warning printed before the JSON/ },
  { kind: 'result-false', reason: 'result', message: /HTTP 422: Simulated failure/ },
  { kind: 'wrong-shape', reason: 'shape', message: /unexpected answer shape/ },
  { kind: 'huge-body', reason: 'too-large', message: /larger than 4 MiB/ },
  { kind: 'reset', reason: 'network', message: /connection reset/ },
  { kind: 'hang', reason: 'timeout', message: /no complete answer within 0\.4 s/ },
  { kind: 'slow-drip', reason: 'timeout', message: /no complete answer within 0\.4 s/ },
];

describe('fault injection: bad answers end a poll cleanly and the exporter recovers', () => {
  let pbx: Simulator;
  let h: Harness;
  let lastCounters = new Map<string, number>();

  /** Counters never go down, and api_requests_total grows exactly by the requests the PBX saw. */
  const checkCounters = (text: string) => {
    const now = counterSamples(text);
    for (const [series, v] of lastCounters) expect(now.get(series) ?? 0, series).toBeGreaterThanOrEqual(v);
    let sent = 0;
    for (const [series, v] of now) if (series.startsWith('mikopbx_api_requests_total{')) sent += v;
    expect(sent).toBe(pbx.requests.length);
    lastCounters = now;
  };

  beforeAll(async () => {
    const clock = new FakeClock();
    pbx = await startSim(clock);
    h = await startHarness({ url: pbx.url, apiKey: KEY, login: 'admin', password: PASSWORD, timeoutSeconds: 0.4 }, clock);
  });
  afterAll(async () => {
    await h?.close();
    await pbx?.close();
  });

  it('starts healthy', async () => {
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_up')).toBe(1);
    for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
    checkCounters(text);
  });

  for (const f of FAULTS) {
    it(`${f.kind}: poll fails with reason "${f.reason}", values kept, /metrics valid, recovery at the next poll`, async () => {
      const before = await h.metrics();
      const logFrom = h.lines.length;
      // Every status endpoint (the API generation is known by now, so no ping is involved).
      pbx.faults.set({ kind: f.kind, paths: [V3_PATHS.providers, V3_PATHS.channels, V3_PATHS.extensions] });
      const t0 = performance.now();
      await h.poll();
      const took = performance.now() - t0;
      // Three requests at most, each bounded by the 0.4 s timeout: no poll hangs.
      expect(took).toBeLessThan(3 * 400 + 1000);

      const during = await h.metrics();
      expect((await httpGet(`${h.base}/healthz`)).status).toBe(200);
      expect(sample(during, 'mikopbx_up')).toBe(0);
      for (const c of STATUS) expect(sample(during, `mikopbx_collector_success{collector="${c}"}`)).toBe(0);
      // The last good values stay (contract §4), they are not zeroed or dropped.
      expect(sample(during, 'mikopbx_sip_peers{status="available"}')).toBe(sample(before, 'mikopbx_sip_peers{status="available"}'));
      expect(sample(during, 'mikopbx_providers{state="registered"}')).toBe(sample(before, 'mikopbx_providers{state="registered"}'));
      checkCounters(during);

      const warnings = h.lines.slice(logFrom).filter((l) => l.includes('"level":"warn"'));
      expect(warnings.length).toBeGreaterThan(0);
      for (const w of warnings) {
        expect(w).toContain(`"reason":"${f.reason}"`);
        expect(w).toMatch(f.message);
      }

      pbx.faults.clear();
      h.clock.advance(h.config.pollIntervalSeconds * 1000);
      await h.poll();
      const after = await h.metrics();
      expect(sample(after, 'mikopbx_up')).toBe(1);
      for (const c of STATUS) expect(sample(after, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
      checkCounters(after);
    });
  }

  it('a fault on one endpoint fails only its collector', async () => {
    pbx.faults.set({ kind: 'truncated-json', paths: [V3_PATHS.providers] });
    await h.poll();
    pbx.faults.clear();
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_collector_success{collector="providers"}')).toBe(0);
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
    expect(sample(text, 'mikopbx_collector_success{collector="calls"}')).toBe(1);
    expect(sample(text, 'mikopbx_up')).toBe(1);
    checkCounters(text);
  });

  it('empty active calls (the PBX\'s own 2 s AMI timeout) is an answer, not a failure', async () => {
    pbx.faults.set({ kind: 'empty-active-calls' });
    await h.poll();
    pbx.faults.clear();
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(sample(text, 'mikopbx_collector_success{collector="calls"}')).toBe(1);
    expect(sample(text, 'mikopbx_active_channels')).toBe(0);
    checkCounters(text);
  });

  it('the landing page shows the failure reasons without secrets', async () => {
    pbx.faults.set({ kind: 'http-500', paths: [V3_PATHS.extensions] });
    await h.poll();
    pbx.faults.clear();
    const page = await httpGet(`${h.base}/`);
    seen.pages.push(page.text);
    expect(page.status).toBe(200);
    expect(page.text).toContain('HTTP 500');
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('promtool check metrics: every /metrics page scraped during the faults is valid', () => {
    expect(seen.pages.filter((p) => p.includes('# TYPE')).length).toBeGreaterThan(20);
    expect(promtoolCheckPages(promtool as string, seen.pages, 20)).toEqual([]);
  });

  it('no configured secret (API key, password) appears in any log line or page', () => {
    expect(seen.lines.length).toBeGreaterThan(20);
    for (const out of [...seen.lines, ...seen.pages]) {
      for (const secret of [KEY, PASSWORD]) expect(out).not.toContain(secret);
    }
  });
});
