import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { PbxTarget } from '../../src/target.js';
import { fixture } from '../helpers/fixtures.js';
import { LOGIN_PATH, P, PASSWORD, PBX, legacyConfig, mockLogin, mockStatus, sample, sid } from '../helpers/legacy.js';

const KEY = 'e'.repeat(64);
const V3 = {
  providers: '/pbxcore/api/v3/sip-providers:getStatuses',
  channels: '/pbxcore/api/v3/pbx-status:getActiveChannels',
  extensions: '/pbxcore/api/v3/sip:getStatuses',
} as const;

function mockV3(scope: nock.Scope): nock.Scope {
  return scope
    .get(V3.providers)
    .matchHeader('authorization', `Bearer ${KEY}`)
    .reply(200, fixture('v3/providers-getStatuses.json'))
    .get(V3.channels)
    .matchHeader('authorization', `Bearer ${KEY}`)
    .reply(200, fixture('v3/active-channels.json'))
    .get(V3.extensions)
    .matchHeader('authorization', `Bearer ${KEY}`)
    .reply(200, fixture('v3/sip-getStatuses.json'));
}

/** The PBX is down: every request of one status poll fails at the TCP level. */
function mockOutage(scope: nock.Scope, requests: number): nock.Scope {
  return scope
    .get(/.*/)
    .times(requests)
    .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
}

// Operators who plan an upgrade configure both: the API key for v3, the login for legacy.
const bothConfig = () => legacyConfig({ apiKey: KEY });

function newTarget(config = bothConfig()) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', secrets: [PASSWORD, KEY], write: (l) => lines.push(l) });
  return { target: new PbxTarget({ config, logger }), lines };
}

const apiInfo = (text: string) => text.split('\n').filter((l) => l.startsWith('mikopbx_api_info{'));

describe('API generation detection (MIKOPBX_API_VERSION=auto)', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('ping 200 → v3: Bearer requests, api_info v3, no login', async () => {
    const scope = mockV3(nock(PBX).get(P.ping).reply(200, fixture('v3/ping.json')));
    const { target } = newTarget();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(target.generation).toBe('v3');
    expect(apiInfo(target.metricsText())).toEqual(['mikopbx_api_info{api="v3"} 1']);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
  });

  it('ping 404 → legacy: session login, api_info legacy', async () => {
    const scope = mockStatus(mockLogin(nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json')), sid(1)), sid(1));
    const { target } = newTarget();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(target.generation).toBe('legacy');
    expect(apiInfo(target.metricsText())).toEqual(['mikopbx_api_info{api="legacy"} 1']);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
  });

  it('does not detect again while the PBX answers, nor after a mere failed request', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(1)), sid(1));
    scope.get(P.sip).reply(500, fixture('legacy/server-error.json')); // providers fails before iax
    scope.get(P.channels).reply(200, fixture('legacy/empty.json'));
    scope.get(P.peers).reply(200, fixture('legacy/peers.json'));
    mockStatus(scope, sid(1));
    const { target } = newTarget();
    for (let i = 0; i < 3; i++) await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(sample(target.metricsText(), `mikopbx_api_requests_total{endpoint="${P.ping}",code="404"}`)).toBe(1);
  });

  it('legacy → (outage, upgrade) → v3: switches adapter and mikopbx_api_info', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(1)), sid(1));
    mockOutage(scope, 1); // sip refused: the rest of that poll is skipped
    scope.get(P.ping).reply(200, fixture('v3/ping.json'));
    mockV3(scope);
    const { target, lines } = newTarget();
    await target.runStatusPoll();
    expect(target.generation).toBe('legacy');
    await target.runStatusPoll(); // PBX down for its upgrade
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    await target.runStatusPoll(); // back, on 2026.1
    target.close();
    expect(nock.pendingMocks()).toEqual([]);
    expect(target.generation).toBe('v3');
    const text = target.metricsText();
    expect(apiInfo(text)).toEqual(['mikopbx_api_info{api="v3"} 1']);
    expect(sample(text, 'mikopbx_up')).toBe(1);
    // the same metric names, now fed by v3 (v3 reports names and RTTs that legacy lacks)
    expect(sample(text, 'mikopbx_sip_peer_up{extension="201"}')).toBe(1);
    expect(text).toMatch(/mikopbx_sip_peer_info\{extension="201",name="Alice[^"]/);
    expect(lines.join('')).toMatch(/"from":"legacy","to":"v3".*MikoPBX API generation changed/);
  });

  it('v3 → (outage, downgrade/restore) → legacy: switches adapter, logs in, api_info legacy', async () => {
    const scope = mockV3(nock(PBX).get(P.ping).reply(200, fixture('v3/ping.json')));
    mockOutage(scope, 1); // providers refused: the rest of that poll is skipped
    scope.get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(7)), sid(7));
    const { target } = newTarget();
    await target.runStatusPoll();
    await target.runStatusPoll();
    await target.runStatusPoll();
    target.close();
    expect(nock.pendingMocks()).toEqual([]);
    expect(target.generation).toBe('legacy');
    const text = target.metricsText();
    expect(apiInfo(text)).toEqual(['mikopbx_api_info{api="legacy"} 1']);
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(sample(text, `mikopbx_api_requests_total{endpoint="${LOGIN_PATH}",code="200"}`)).toBe(1);
  });

  it('legacy → v3 between two polls (no outage seen): a poll of 404s makes it detect again', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(1)), sid(1));
    // upgraded: the legacy routes are gone (v3 answers its own 404 body, without checking auth)
    const v3NotFound = '{"success":false,"messages":{"error":["Endpoint not found"]},"data":null}';
    scope.get(P.sip).reply(404, v3NotFound).get(P.channels).reply(404, v3NotFound).get(P.peers).reply(404, v3NotFound);
    scope.get(P.ping).reply(200, fixture('v3/ping.json'));
    mockV3(scope);
    const { target } = newTarget();
    await target.runStatusPoll();
    await target.runStatusPoll();
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    await target.runStatusPoll();
    target.close();
    expect(nock.pendingMocks()).toEqual([]);
    expect(target.generation).toBe('v3');
    expect(apiInfo(target.metricsText())).toEqual(['mikopbx_api_info{api="v3"} 1']);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
  });

  it('v3 → legacy between two polls: the 404s make it detect again and log in', async () => {
    const scope = mockV3(nock(PBX).get(P.ping).reply(200, fixture('v3/ping.json')));
    const legacy404 = fixture('legacy/not-found.json');
    scope.get(V3.providers).reply(404, legacy404).get(V3.channels).reply(404, legacy404).get(V3.extensions).reply(404, legacy404);
    scope.get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(3)), sid(3));
    const { target } = newTarget();
    for (let i = 0; i < 3; i++) await target.runStatusPoll();
    target.close();
    expect(nock.pendingMocks()).toEqual([]);
    expect(target.generation).toBe('legacy');
    expect(apiInfo(target.metricsText())).toEqual(['mikopbx_api_info{api="legacy"} 1']);
  });

  it('a legacy login answered 404 fails the poll once, not once per collector', async () => {
    const scope = nock(PBX).post(LOGIN_PATH).reply(404, fixture('legacy/not-found.json'));
    const { target, lines } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    // One login attempt, and one line for the failed poll (each collector's failure only at debug).
    expect(lines.filter((l) => l.includes('does not exist; this is not a legacy MikoPBX'))).toHaveLength(1);
  });

  it('MIKOPBX_API_VERSION=legacy skips the ping', async () => {
    const scope = mockStatus(mockLogin(nock(PBX), sid(1)), sid(1));
    const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(apiInfo(target.metricsText())).toEqual(['mikopbx_api_info{api="legacy"} 1']);
  });
});
