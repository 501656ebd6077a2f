import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PbxTarget } from '../../src/target.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';
import { expectGolden } from '../helpers/golden.js';
import { sample } from '../helpers/exposition.js';

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
    const r = promtoolCheckMetrics(promtool as string, target.metricsText());
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
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
    nock(PBX)
      .get('/pbxcore/api/v3/system:ping')
      .reply(200, fixture('v3/ping.json'))
      .get(/.*/)
      .times(3)
      .reply(401, unauthorized);
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
});
