import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../../src/api/backoff.js';
import { parseExtensionStatuses } from '../../src/api/v3-parse.js';
import { PbxTarget } from '../../src/target.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { captureLogger, fixture, fixtureJson, testConfig } from '../helpers/fixtures.js';
import { FakeClock, sample } from '../helpers/harness.js';
import { SIM_API_KEY, tlsFront } from '../helpers/sim.js';
import { useSimHarness } from '../helpers/sim-harness.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

// The pitfalls of mikopbx-api.md §7 that no other test covers, one test (or two) each.

const promtool = toolOrSkip('promtool');

describe('P15: without a configured API key no Authorization header is sent', () => {
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  const env = useSimHarness();

  it('every request of a poll goes out without Authorization (a localhost PBX lets it in)', async () => {
    nock.disableNetConnect();
    // badheaders: a request that carries Authorization does not match, and the poll would fail.
    const scope = nock('http://pbx.test', { badheaders: ['authorization'] })
      .get('/pbxcore/api/v3/system:ping')
      .reply(200, fixture('v3/ping.json'))
      .get('/pbxcore/api/v3/sip-providers:getStatuses')
      .reply(200, fixture('v3/providers-getStatuses.json'))
      .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
      .reply(200, fixture('v3/active-channels.json'))
      .get('/pbxcore/api/v3/sip:getStatuses')
      .reply(200, fixture('v3/sip-getStatuses.json'));
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: undefined }), logger });
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
  });

  it('against the simulator with its localhost bypass: every request is let in', async () => {
    const clock = new FakeClock();
    const sim = await env.sim(clock, { localhostBypass: true });
    const h = await env.harness({ url: sim.url, apiKey: undefined }, clock);
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
    // Any Bearer token, even an empty or wrong one, would have disabled the bypass (401).
    expect(sim.stats.unauthenticatedRequests).toBe(0);
    expect(sim.requests.length).toBeGreaterThan(3);
  });
});

describe('P17: HTTPS with a self-signed certificate, and redirects', () => {
  const env = useSimHarness();
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  it('MIKOPBX_TLS_INSECURE_SKIP_VERIFY=true connects to a self-signed PBX and warns at start', async () => {
    const clock = new FakeClock();
    const sim = await env.sim(clock);
    const front = await tlsFront(sim.port, pki.serverCert, pki.serverKey);
    env.closeAfter(front.close);
    const h = await env.harness({ url: front.url, apiKey: SIM_API_KEY, tlsInsecureSkipVerify: true }, clock);
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_up')).toBe(1);
    for (const c of ['peers', 'providers', 'calls']) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
    expect(sim.requests.every((r) => r.status === 200)).toBe(true);
    const warning = h.lines.filter((l) => l.includes('"level":"warn"') && l.includes('MIKOPBX_TLS_INSECURE_SKIP_VERIFY=true'));
    expect(warning).toHaveLength(1);
  });

  /** An http:// PBX that redirects every request to https:// (MikoPBX RedirectToHttps), recording the paths asked. */
  async function redirectingPbx(): Promise<{ url: string; paths: string[] }> {
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(301, { location: `https://pbx.example${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    env.closeAfter(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
  }

  it.each(['v3', 'auto'] as const)('a 301 to https:// (MIKOPBX_API_VERSION=%s) is not followed and says to set MIKOPBX_URL', async (apiVersion) => {
    const pbx = await redirectingPbx();
    const h = await env.harness({ url: pbx.url, apiKey: SIM_API_KEY, apiVersion });
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_up')).toBe(0);
    if (promtool) expect(promtoolCheckMetrics(promtool, text).output).toBe('');
    const warnings = h.lines.filter((l) => l.includes('"level":"warn"'));
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings)
      expect(w).toMatch(/redirect to https:\/\/pbx\.example\/pbxcore\/api\/v3\/[^ ;]*; set MIKOPBX_URL to the final https:\/\/ address/);
    // Only the original paths were asked, each once per poll: nothing followed the redirect.
    expect(pbx.paths.every((p) => p.startsWith('/pbxcore/api/v3/'))).toBe(true);
    expect(pbx.paths.length).toBeLessThanOrEqual(3);
  });
});

describe('P2: the rate-limit ban doubles per repeat offence up to the 1-hour cap', () => {
  it('pauses 305, 610, 1220, 2440 s, then 3605 s (nginx caps at 3600 s) however often it repeats', () => {
    let t = Date.UTC(2026, 3, 10);
    const backoff = new Backoff(() => t);
    const pauses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const pause = backoff.trip('rate_limited');
      pauses.push(pause / 1000);
      expect(backoff.until('rate_limited')).toBe(t + pause);
      t += pause; // the next 429 right after the ban
    }
    expect(pauses).toEqual([305, 610, 1220, 2440, 3605, 3605, 3605]);
  });
});

describe('P20: sip:getStatuses as a list parses the same as the map keyed by extension', () => {
  it('the same extensions, statuses, names, RTTs and devices from either form', () => {
    const map = fixtureJson('v3/sip-getStatuses.json').data as Record<string, unknown>;
    const list = Object.values(map);
    expect(Array.isArray(list) && list.length).toBeGreaterThan(3);
    expect(parseExtensionStatuses(list)).toEqual(parseExtensionStatuses(map));
  });
});
