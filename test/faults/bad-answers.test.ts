import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { FaultKind } from '../../sim/index.js';
import { FakeClock, counterSamples, httpGet, sample, seen, startHarness, type Harness } from '../helpers/harness.js';
import { SIM_API_KEY, V3_PATHS, startSim, type Simulator } from '../helpers/sim.js';
import { toolOrSkip, promtoolCheckMetrics, promtoolCheckPages } from '../helpers/tools.js';

const KEY = SIM_API_KEY;
const PASSWORD = 'legacy-Pa55word!';
const STATUS = ['peers', 'providers', 'calls'];
const promtool = toolOrSkip('promtool');

type Api = 'v3' | 'legacy';

/** Each API generation: how the exporter is configured for it, and its status endpoints. */
const GENERATIONS: Array<{ api: Api; config: Partial<Config>; statusPaths: string[]; providersOnly: string }> = [
  { api: 'v3', config: { apiKey: KEY }, statusPaths: [V3_PATHS.providers, V3_PATHS.channels, V3_PATHS.extensions], providersOnly: V3_PATHS.providers },
  {
    api: 'legacy',
    config: { apiKey: undefined, login: 'admin', password: PASSWORD },
    statusPaths: ['/pbxcore/api/sip/', '/pbxcore/api/iax/', '/pbxcore/api/cdr/'],
    providersOnly: '/pbxcore/api/iax/getRegistry',
  },
];

/** The PBX-derived status series (extensions, trunks, calls in progress) of a page. */
function statusValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/^mikopbx_(sip_peer|provider_(info|state|registered|rtt|active)|providers|active_)/.test(line)) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** A failed poll keeps every value of the last good one: nothing zeroed, nothing dropped. */
function expectSameStatusValues(during: string, before: string): void {
  const kept = statusValues(before);
  expect(kept.size).toBeGreaterThan(20);
  expect(statusValues(during)).toEqual(kept);
}

/** Each bad answer, the generations it applies to, and the reason the exporter must log for it. */
const FAULTS: Array<{ kind: FaultKind; apis: Api[]; reason: string; message: Partial<Record<Api, RegExp>> & { v3?: RegExp } }> = [
  { kind: 'http-500', apis: ['v3', 'legacy'], reason: 'http', message: { v3: /HTTP 500/, legacy: /HTTP 500.*API worker did not answer in time/ } },
  // Legacy's own "worker did not answer": Beanstalk gave no reply within 10 s, HTTP 500.
  { kind: 'worker-timeout-400', apis: ['legacy'], reason: 'http', message: { legacy: /HTTP 500.*API worker did not answer in time/ } },
  { kind: 'html-200', apis: ['v3', 'legacy'], reason: 'parse', message: { v3: /HTML page instead of JSON/, legacy: /HTML page instead of JSON/ } },
  { kind: 'html-login-200', apis: ['v3', 'legacy'], reason: 'parse', message: { v3: /HTML page instead of JSON/, legacy: /HTML page instead of JSON/ } },
  { kind: 'truncated-json', apis: ['v3', 'legacy'], reason: 'parse', message: { v3: /malformed or truncated JSON/, legacy: /malformed or truncated JSON/ } },
  // The simulator's malformed JSON is what PHP really produces: a warning printed before it.
  {
    kind: 'malformed-json',
    apis: ['v3', 'legacy'],
    reason: 'parse',
    message: { v3: /PHP warning printed before the JSON/, legacy: /PHP warning printed before the JSON/ },
  },
  // Business errors: 422 on v3, HTTP 200 with result:false on legacy.
  {
    kind: 'result-false',
    apis: ['v3', 'legacy'],
    reason: 'result',
    message: { v3: /HTTP 422: Simulated failure/, legacy: /answered result:false: Simulated failure/ },
  },
  { kind: 'wrong-shape', apis: ['v3', 'legacy'], reason: 'shape', message: { v3: /unexpected answer shape/, legacy: /unexpected answer shape/ } },
  { kind: 'huge-body', apis: ['v3', 'legacy'], reason: 'too-large', message: { v3: /larger than 4 MiB/, legacy: /larger than 4 MiB/ } },
  { kind: 'reset', apis: ['v3', 'legacy'], reason: 'network', message: { v3: /connection reset/, legacy: /connection reset/ } },
  { kind: 'hang', apis: ['v3', 'legacy'], reason: 'timeout', message: { v3: /no complete answer within 0\.4 s/, legacy: /no complete answer within 0\.4 s/ } },
  {
    kind: 'slow-drip',
    apis: ['v3', 'legacy'],
    reason: 'timeout',
    message: { v3: /no complete answer within 0\.4 s/, legacy: /no complete answer within 0\.4 s/ },
  },
];

describe.each(GENERATIONS)(
  'fault injection ($api): bad answers end a poll cleanly and the exporter recovers',
  ({ api, config, statusPaths, providersOnly }) => {
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
      pbx = await startSim(clock, { mode: api, password: PASSWORD });
      h = await startHarness({ url: pbx.url, ...config, timeoutSeconds: 0.4 }, clock);
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

    for (const f of FAULTS.filter((x) => x.apis.includes(api))) {
      it(`${f.kind}: poll fails with reason "${f.reason}", values kept, /metrics promtool-valid, recovery at the next poll`, async () => {
        const before = await h.metrics();
        const logFrom = h.lines.length;
        const sentBefore = pbx.requests.length;
        // Every status endpoint (the API generation is known by now, so no ping is involved).
        pbx.faults.set({ kind: f.kind, paths: statusPaths });
        await h.poll();
        // One request per status endpoint at most: no retries, no poll that hangs on.
        expect(pbx.requests.length - sentBefore).toBeLessThanOrEqual(4);

        const during = await h.metrics();
        expect((await httpGet(`${h.base}/healthz`)).status).toBe(200);
        expect(sample(during, 'mikopbx_up')).toBe(0);
        for (const c of STATUS) expect(sample(during, `mikopbx_collector_success{collector="${c}"}`)).toBe(0);
        // The last good values stay (contract §4), they are not zeroed or dropped.
        expectSameStatusValues(during, before);
        if (promtool) expect(promtoolCheckMetrics(promtool, during).output).toBe('');
        checkCounters(during);

        const warnings = h.lines.slice(logFrom).filter((l) => l.includes('"level":"warn"'));
        expect(warnings.length).toBeGreaterThan(0);
        for (const w of warnings) {
          expect(w).toContain(`"reason":"${f.reason}"`);
          expect(w).toMatch(f.message[api] as RegExp);
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

    // Legacy only: v3 has no session (a 401 there is a refused API key, test/faults/network.test.ts).
    if (api === 'legacy')
      it('401 mid-session (the PBX dropped the session): exactly one re-login, the poll succeeds', async () => {
        const logins = pbx.stats.loginAttempts;
        const refused = pbx.stats.unauthenticatedRequests;
        expect(pbx.expireSessions()).toBe(1);
        await h.poll();
        expect(pbx.stats.loginAttempts).toBe(logins + 1);
        expect(pbx.stats.unauthenticatedRequests).toBe(refused + 1);
        const text = await h.metrics();
        expect(sample(text, 'mikopbx_up')).toBe(1);
        for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
        if (promtool) expect(promtoolCheckMetrics(promtool, text).output).toBe('');
        checkCounters(text);
        h.clock.advance(h.config.pollIntervalSeconds * 1000);
        await h.poll();
        expect(pbx.stats.loginAttempts).toBe(logins + 1); // the new session is kept
      });

    it('a fault on one endpoint fails only its collector', async () => {
      pbx.faults.set({ kind: 'truncated-json', paths: [providersOnly] });
      await h.poll();
      pbx.faults.clear();
      const text = await h.metrics();
      expect(sample(text, 'mikopbx_collector_success{collector="providers"}')).toBe(0);
      expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
      expect(sample(text, 'mikopbx_collector_success{collector="calls"}')).toBe(1);
      expect(sample(text, 'mikopbx_up')).toBe(1);
      checkCounters(text);
    });

    it("empty active calls (the PBX's own 2 s AMI timeout) is an answer, not a failure", async () => {
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
      pbx.faults.set({ kind: 'http-500', paths: statusPaths });
      await h.poll();
      pbx.faults.clear();
      const page = await httpGet(`${h.base}/`);
      seen.pages.push(page.text);
      expect(page.status).toBe(200);
      expect(page.text).toContain('HTTP 500');
    });

    it.skipIf(!promtool)('promtool check metrics: every /metrics page scraped during the faults is valid', () => {
      expect(seen.pages.filter((p) => p.includes('# TYPE')).length).toBeGreaterThan(20);
      expect(promtoolCheckPages(promtool as string, seen.pages, 20)).toEqual([]);
    });

    it('no configured secret (API key, password, session id) appears in any log line or page', () => {
      expect(seen.lines.length).toBeGreaterThan(20);
      for (const out of [...seen.lines, ...seen.pages]) {
        for (const secret of [KEY, PASSWORD, ...pbx.issuedSessionIds()]) expect(out).not.toContain(secret);
      }
    });
  },
);
