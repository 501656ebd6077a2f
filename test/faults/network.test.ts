import { rmSync } from 'node:fs';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { FakeClock, httpGet, sample, seen, type Harness } from '../helpers/harness.js';
import { SIM_API_KEY, tlsFront } from '../helpers/sim.js';
import { useSimHarness } from '../helpers/sim-harness.js';
import { toolOrSkip, promtoolCheckPages } from '../helpers/tools.js';

const KEY = SIM_API_KEY;
const STATUS = ['peers', 'providers', 'calls'];

async function expectFailedPoll(h: Harness, reason: string, message: RegExp) {
  const from = h.lines.length;
  await h.poll();
  const text = await h.metrics();
  expect((await httpGet(`${h.base}/healthz`)).status).toBe(200);
  expect(sample(text, 'mikopbx_up')).toBe(0);
  for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(0);
  const warnings = h.lines.slice(from).filter((l) => l.includes('"level":"warn"'));
  expect(warnings.length).toBeGreaterThan(0);
  expect(
    warnings.some((w) => w.includes(`"reason":"${reason}"`) && message.test(w)),
    warnings.join('\n'),
  ).toBe(true);
  return text;
}

describe('fault injection: a hostile network', () => {
  const env = useSimHarness();
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  it('connection refused (PBX down), then the PBX comes back on the same port: recovery at the next poll', async () => {
    const clock = new FakeClock();
    let pbx = await env.sim(clock);
    const port = pbx.port;
    const h = await env.harness({ url: pbx.url, apiKey: KEY, timeoutSeconds: 1 }, clock);
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
    await pbx.close();
    clock.advance(30_000);
    const text = await expectFailedPoll(h, 'network', /connection refused/);
    // Requests that never reached the PBX are counted as code="error".
    expect(sample(text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/v3/sip-providers:getStatuses",code="error"}')).toBe(1);
    pbx = await env.sim(clock, { port });
    clock.advance(30_000);
    await h.poll();
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
    // Back from unreachable, the API generation is detected again (it may have been upgraded).
    expect(pbx.requests.map((r) => r.path)[0]).toBe('/pbxcore/api/v3/system:ping');
  });

  it('DNS failure: the poll fails with a clear reason, the exporter stays up', async () => {
    const h = await env.harness({ url: 'http://mikopbx.invalid', apiKey: KEY, timeoutSeconds: 2 });
    await expectFailedPoll(h, 'network', /host name not found \(DNS\)|DNS lookup failed/);
  });

  it('TLS failure (self-signed PBX certificate) names MIKOPBX_CA_FILE; with the CA the same PBX works', async () => {
    const pbx = await env.sim(new FakeClock());
    const front = await tlsFront(pbx.port, pki.serverCert, pki.serverKey);
    env.closeAfter(front.close);
    let h = await env.harness({ url: front.url, apiKey: KEY, timeoutSeconds: 1 });
    await expectFailedPoll(h, 'tls', /MIKOPBX_CA_FILE/);
    expect(pbx.requests).toEqual([]);
    await h.close();
    h = await env.harness({ url: front.url, apiKey: KEY, timeoutSeconds: 1, ca: pki.caCert });
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
  });

  it('MIKOPBX_CA_FILE adds to the CAs Node trusts: a PBX certified by a default-trusted CA still works', async () => {
    // Stands in for a public CA in the system store: trusted by default, not in MIKOPBX_CA_FILE.
    const publicPki = makeTestPki();
    const defaults = tls.getCACertificates('default');
    tls.setDefaultCACertificates([...defaults, publicPki.caCert]);
    try {
      const pbx = await env.sim(new FakeClock());
      const front = await tlsFront(pbx.port, publicPki.serverCert, publicPki.serverKey);
      env.closeAfter(front.close);
      const h = await env.harness({ url: front.url, apiKey: KEY, timeoutSeconds: 1, ca: pki.caCert });
      expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
    } finally {
      tls.setDefaultCACertificates(defaults);
      rmSync(publicPki.dir, { recursive: true, force: true });
    }
  });

  it('a plain-HTTP port behind an https:// URL fails as a TLS problem, not a hang', async () => {
    const pbx = await env.sim(new FakeClock());
    const h = await env.harness({ url: pbx.url.replace('http:', 'https:'), apiKey: KEY, timeoutSeconds: 1 });
    await expectFailedPoll(h, 'tls', /TLS failure/);
  });

  it('wrong API key: 401 names the refused endpoint and the permission it needs', async () => {
    const pbx = await env.sim(new FakeClock());
    const wrong = '9'.repeat(64);
    const h = await env.harness({ url: pbx.url, apiKey: wrong, timeoutSeconds: 1 });
    const text = await expectFailedPoll(
      h,
      'auth',
      /refused the API key for \/pbxcore\/api\/v3\/sip-providers:getStatuses.*\\"read\\" permission for \/api\/v3\/sip-providers\b/,
    );
    expect(h.lines.some((l) => /"read\\" permission for \/api\/v3\/sip\b(?!-)/.test(l))).toBe(true);
    expect(h.lines.some((l) => l.includes('"read\\" permission for /api/v3/sip-providers'))).toBe(true);
    expect(h.lines.some((l) => l.includes('"read\\" permission for /api/v3/pbx-status'))).toBe(true);
    expect(sample(text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/v3/sip:getStatuses",code="401"}')).toBe(2); // the start-up poll and this one
    for (const out of [text, ...h.lines]) expect(out).not.toContain(wrong);
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('promtool check metrics: pages scraped during network faults are valid', () => {
    expect(seen.pages.length).toBeGreaterThan(3);
    expect(promtoolCheckPages(promtool as string, seen.pages)).toEqual([]);
  });

  it('no API key in any log line or page', () => {
    for (const out of [...seen.lines, ...seen.pages]) expect(out).not.toContain(KEY);
  });
});
