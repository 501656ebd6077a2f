import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PbxTarget } from '../../src/target.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';
import { expectPromtoolValid, toolOrSkip } from '../helpers/tools.js';
import { expectGolden } from '../helpers/golden.js';
import { sample } from '../helpers/exposition.js';
import { FakeCdrPbx } from '../helpers/fake-cdr.js';

const PBX = 'http://pbx.test';
const KEY = 'e'.repeat(64);
const NOW = Date.UTC(2026, 3, 10, 11, 22, 31);

function mockAll(overrides: Partial<Record<'ext' | 'prov' | 'chan', string>> = {}) {
  return nock(PBX)
    .get('/pbxcore/api/v3/system:ping')
    .reply(200, fixture('v3/ping.json'))
    .get('/pbxcore/api/v3/sip-providers:getStatuses')
    .matchHeader('authorization', `Bearer ${KEY}`)
    .reply(200, overrides.prov ?? fixture('v3/providers-getStatuses.json'))
    .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
    .reply(200, overrides.chan ?? fixture('v3/active-channels.json'))
    .get('/pbxcore/api/v3/sip:getStatuses')
    .reply(200, overrides.ext ?? fixture('v3/sip-getStatuses.json'));
}

describe('PbxTarget against a v3 PBX (nock)', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('renders the golden exposition for the fixture set', async () => {
    const scope = mockAll();
    const { logger } = await captureLogger('silent');
    // A fixed monotonic clock: durations are 0, so the golden file is a valid exposition as is.
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW, monotonicMs: () => 0 });
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    const text = target.metricsText();
    expectGolden(text, 'v3-status.prom');
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(target.isReady()).toBe(true);
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('golden exposition passes promtool check metrics', async () => {
    mockAll();
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW });
    await target.runStatusPoll();
    target.close();
    expectPromtoolValid(target.metricsText());
  });

  it('drops series of a deleted trunk and extension at the next successful poll', async () => {
    mockAll();
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW });
    await target.runStatusPoll();
    expect(target.metricsText()).toContain('provider="SIP-TRUNK-0A1B2C3D"');
    expect(target.metricsText()).toContain('extension="202"');
    nock(PBX)
      .get('/pbxcore/api/v3/sip-providers:getStatuses')
      .reply(200, fixture('v3/providers-empty.json'))
      .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
      .reply(200, fixture('v3/empty.json'))
      .get('/pbxcore/api/v3/sip:getStatuses')
      .reply(200, fixture('v3/empty.json'));
    await target.runStatusPoll();
    target.close();
    const text = target.metricsText();
    expect(text).not.toMatch(/provider="/);
    expect(text).not.toMatch(/extension="/);
    expect(sample(text, 'mikopbx_providers{state="registered"}')).toBe(0);
    expect(sample(text, 'mikopbx_sip_peers{status="available"}')).toBe(0);
    expect(sample(text, 'mikopbx_active_calls{direction="inbound"}')).toBe(0);
  });

  it('keeps the previous values of a failed collector and marks only it failed', async () => {
    mockAll();
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW });
    await target.runStatusPoll();
    nock(PBX)
      .get('/pbxcore/api/v3/sip-providers:getStatuses')
      .reply(200, '<html>Bad gateway</html>', { 'content-type': 'text/html' })
      .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
      .reply(200, fixture('v3/empty.json'))
      .get('/pbxcore/api/v3/sip:getStatuses')
      .reply(200, fixture('v3/sip-getStatuses.json'));
    await target.runStatusPoll();
    target.close();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="providers"}')).toBe(0);
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
    expect(sample(text, 'mikopbx_provider_registered{provider="SIP-TRUNK-3F9A1C7B"}')).toBe(1);
    expect(sample(text, 'mikopbx_up')).toBe(1);
    const failures = lines.filter((l) => l.includes('"level":"warn"'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/"collector":"providers".*"reason":"parse".*HTML page/);
  });

  it('with a wrong API key: mikopbx_up 0, a log line saying the key was refused, and no key anywhere', async () => {
    const unauthorized = fixture('v3/unauthorized.json');
    nock(PBX).get('/pbxcore/api/v3/system:ping').reply(200, fixture('v3/ping.json')).get(/.*/).times(3).reply(401, unauthorized);
    const { createLogger } = await import('../../src/log.js');
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', secrets: [KEY], write: (l) => lines.push(l) });
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW });
    await target.runStatusPoll();
    target.close();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(0);
    expect(sample(text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/v3/sip:getStatuses",code="401"}')).toBe(1);
    expect(lines.join('')).toMatch(/"reason":"auth".*refused the API key/);
    for (const out of [text, ...lines]) expect(out).not.toContain(KEY);
  });

  it('never sends requests in parallel and never per extension', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = (body: string) => async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      return [200, body] as [number, string];
    };
    const scope = nock(PBX)
      .get('/pbxcore/api/v3/system:ping')
      .reply(slow(fixture('v3/ping.json')))
      .get('/pbxcore/api/v3/sip-providers:getStatuses')
      .reply(slow(fixture('v3/providers-getStatuses.json')))
      .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
      .reply(slow(fixture('v3/active-channels.json')))
      .get('/pbxcore/api/v3/sip:getStatuses')
      .reply(slow(fixture('v3/sip-getStatuses.json')));
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger });
    // Two overlapping triggers share one run.
    await Promise.all([target.runStatusPoll(), target.runStatusPoll()]);
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(maxInFlight).toBe(1);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('a status poll and a cdr poll started together still send one request at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = (answer: (query: Record<string, string>) => { status: number; body: string }) => async (req: unknown) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      // nock 15 passes the request (older versions the path)
      const url = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX);
      const { status, body } = answer(Object.fromEntries(url.searchParams));
      return [status, body, { 'content-type': 'application/json' }] as [number, string, Record<string, string>];
    };
    const json = (path: string) => () => ({ status: 200, body: fixture(path) });
    const cdr = new FakeCdrPbx(Date.now());
    const scope = nock(PBX)
      .get('/pbxcore/api/v3/sip-providers:getStatuses')
      .reply(slow(json('v3/providers-getStatuses.json')))
      .get('/pbxcore/api/v3/pbx-status:getActiveChannels')
      .reply(slow(json('v3/active-channels.json')))
      .get('/pbxcore/api/v3/sip:getStatuses')
      .reply(slow(json('v3/sip-getStatuses.json')))
      .get('/pbxcore/api/v3/cdr')
      .query(true)
      .reply(slow((query) => cdr.handle(query)));
    const { logger } = await captureLogger('silent');
    const config = testConfig({ apiKey: KEY, apiVersion: 'v3', collectors: ['peers', 'providers', 'calls', 'cdr'] });
    const target = new PbxTarget({ config, logger });
    await Promise.all([target.runStatusPoll(), target.runCdrPoll()]);
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(target.results.get('cdr')?.error).toBeUndefined();
    expect(target.results.get('peers')?.success).toBe(true);
    expect(maxInFlight).toBe(1);
  });

  it('a 429 to one of two polls started together stops the other before it sends anything', async () => {
    // Requests wait their turn before the ban and budget checks, not after: a request queued
    // behind the one that met the 429 must see the ban, not go out right after it.
    const reached: string[] = [];
    nock(PBX)
      .get(/.*/)
      .times(8)
      .reply(async (uri: unknown) => {
        reached.push(String(uri));
        await new Promise((r) => setTimeout(r, 20));
        return [429, '<html>429 Too Many Requests</html>', { 'content-type': 'text/html', 'retry-after': '600' }];
      });
    const { logger } = await captureLogger('silent');
    const config = testConfig({ apiKey: KEY, apiVersion: 'v3', collectors: ['peers', 'providers', 'calls', 'cdr'] });
    const target = new PbxTarget({ config, logger });
    await Promise.all([target.runStatusPoll(), target.runCdrPoll()]);
    target.close();
    expect(reached).toHaveLength(1);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
  });

  it('an extension listed twice in the v3 answer is counted once', async () => {
    const answer = JSON.parse(fixture('v3/sip-getStatuses.json')) as { data: Record<string, Record<string, unknown>> };
    // The same extension under a second key (the number comes from its `extension` field).
    answer.data['201-again'] = { ...answer.data['201'] };
    mockAll({ ext: JSON.stringify(answer) });
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: KEY }), logger, now: () => NOW });
    await target.runStatusPoll();
    target.close();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
    expect(sample(text, 'mikopbx_sip_peers{status="available"}')).toBe(2); // 201 and 203, as without the repeat
    expect(text.split('\n').filter((l) => l.startsWith('mikopbx_sip_peer_up{extension="201"}'))).toHaveLength(1);
  });

  it('mikopbx_up reads 0 at the next render once a cdr page answers 429 after a good status poll', async () => {
    mockAll();
    const { logger } = await captureLogger('silent');
    const config = testConfig({ apiKey: KEY, collectors: ['peers', 'providers', 'calls', 'cdr'] });
    const target = new PbxTarget({ config, logger, now: () => NOW });
    await target.runStatusPoll();
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
    nock(PBX).get('/pbxcore/api/v3/cdr').query(true).reply(429, '<html>429 Too Many Requests</html>', { 'content-type': 'text/html', 'retry-after': '600' });
    await target.runCdrPoll();
    target.close();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(0);
    expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="rate_limited"}')).toBeGreaterThan(NOW / 1000);
    expect(sample(text, 'mikopbx_up')).toBe(0);
  });
});
