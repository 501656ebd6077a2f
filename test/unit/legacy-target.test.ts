import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ScrubberRegistry, SecretScrubber } from '../../src/secrets.js';
import { PbxTarget } from '../../src/target.js';
import { fixture } from '../helpers/fixtures.js';
import { LOGIN, LOGIN_PATH, P, PASSWORD, PBX, legacyConfig, maxInWindow, mockLogin, mockStatus, sample, setCookie, sid } from '../helpers/legacy.js';
import { expectPromtoolValid, toolOrSkip } from '../helpers/tools.js';
import { expectGolden } from '../helpers/golden.js';

const NOW = Date.UTC(2024, 4, 20, 5, 23, 2);
const MIN = 60_000;

function newTarget(config = legacyConfig(), now: () => number = () => NOW) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', secrets: [PASSWORD], write: (l) => lines.push(l) });
  // A fixed monotonic clock: durations are 0, so the golden file is a valid exposition as is.
  return { target: new PbxTarget({ config, logger, now, monotonicMs: () => 0 }), lines };
}

describe('PbxTarget against a legacy PBX (nock)', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('detects legacy, logs in once, reuses the session cookie, and renders the golden exposition', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockLogin(scope, sid(1));
    mockStatus(scope, sid(1));
    mockStatus(scope, sid(1)); // second poll: same session, no login
    const { target, lines } = newTarget();
    await target.runStatusPoll();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    const text = target.metricsText();
    expectGolden(text, 'legacy-status.prom');
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(sample(text, 'mikopbx_api_info{api="legacy"}')).toBe(1);
    expect(text).not.toContain('api="v3"');
    expect(sample(text, `mikopbx_api_requests_total{endpoint="${LOGIN_PATH}",code="200"}`)).toBe(1);
    expect(sample(text, `mikopbx_api_requests_total{endpoint="${P.peers}",code="200"}`)).toBe(2);
    // the same metric names as v3: one dashboard for every PBX
    for (const name of [
      'mikopbx_sip_peers',
      'mikopbx_sip_peer_up',
      'mikopbx_provider_state',
      'mikopbx_providers',
      'mikopbx_active_calls',
      'mikopbx_provider_active_calls',
    ]) {
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
    expect(lines.join('')).toContain(`logged in to the legacy MikoPBX web admin as ${LOGIN}`);
    for (const out of [text, ...lines]) {
      expect(out).not.toContain(sid(1));
      expect(out).not.toContain(PASSWORD);
    }
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('legacy exposition passes promtool check metrics', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockStatus(mockLogin(scope, sid(1)), sid(1));
    const { target } = newTarget();
    await target.runStatusPoll();
    target.close();
    expectPromtoolValid(target.metricsText());
  });

  it('an outage of a legacy PBX does not bring back the cdr collector it does not have', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json'));
    mockLogin(scope, sid(1));
    mockStatus(scope, sid(1));
    const { target } = newTarget(legacyConfig({ collectors: ['peers', 'providers', 'calls', 'cdr'] }));
    await target.runStatusPoll();
    await target.runCdrPoll();
    expect(target.metricsText()).not.toContain('collector="cdr"');
    // The PBX goes away: the status poll fails, and the next polls try to detect it again.
    nock(PBX).get(/.*/).times(20).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    await target.runStatusPoll();
    await target.runCdrPoll();
    await target.runStatusPoll();
    target.close();
    expect(target.metricsText()).not.toContain('collector="cdr"');
    expect(target.results.has('cdr')).toBe(false);
  });

  it('does not count trunk endpoints of the peer list as extensions', async () => {
    const scope = nock(PBX);
    mockStatus(mockLogin(scope, sid(1)), sid(1), { channels: fixture('legacy/empty.json') });
    const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    target.close();
    const text = target.metricsText();
    // peers.json: 201, 203, 205 OK; 202, 204 UNKNOWN; three trunk endpoints; 201-WS/205-WS merged.
    expect(sample(text, 'mikopbx_sip_peers{status="available"}')).toBe(3);
    expect(sample(text, 'mikopbx_sip_peers{status="unavailable"}')).toBe(2);
    expect(sample(text, 'mikopbx_sip_peers{status="unknown"}')).toBe(0);
    expect(text).not.toMatch(/extension="(SIP-|IAX-)/);
    expect(text).not.toMatch(/extension="\d+-WS"/);
    // the trunks are where they belong
    expect(sample(text, 'mikopbx_provider_registered{provider="SIP-TRUNK-3F9A1C7B"}')).toBe(1);
  });

  it('counts an UNKNOWN extension with a live channel as available (in-call correction), and only while in the call', async () => {
    const scope = nock(PBX);
    mockLogin(scope, sid(1));
    mockStatus(scope, sid(1)); // 204 UNKNOWN and in a call from the trunk
    mockStatus(scope, sid(1), { channels: fixture('legacy/empty.json') }); // call over, 204 still UNKNOWN
    const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    let text = target.metricsText();
    expect(sample(text, 'mikopbx_sip_peer_up{extension="204"}')).toBe(1);
    expect(sample(text, 'mikopbx_sip_peer_up{extension="202"}')).toBe(0);
    expect(sample(text, 'mikopbx_sip_peers{status="available"}')).toBe(4);
    expect(sample(text, 'mikopbx_active_calls{direction="inbound"}')).toBe(1);
    expect(sample(text, 'mikopbx_active_calls{direction="internal"}')).toBe(1);
    expect(sample(text, 'mikopbx_provider_active_calls{provider="SIP-TRUNK-3F9A1C7B"}')).toBe(1);
    await target.runStatusPoll();
    target.close();
    text = target.metricsText();
    expect(sample(text, 'mikopbx_sip_peer_up{extension="204"}')).toBe(0);
    expect(sample(text, 'mikopbx_sip_peers{status="available"}')).toBe(3);
  });

  it('falls back to the JSON-string getActiveCalls where getActiveChannels is missing, and stays there', async () => {
    const scope = nock(PBX);
    const cookie = `PHPSESSID=${sid(1)}`;
    mockLogin(scope, sid(1))
      .get(P.sip)
      .reply(200, fixture('legacy/sip-registry.json'))
      .get(P.iax)
      .reply(200, fixture('legacy/iax-registry.json'))
      .get(P.channels)
      .matchHeader('cookie', cookie)
      .reply(404, fixture('legacy/not-found.json'))
      .get(P.calls)
      .matchHeader('cookie', cookie)
      .twice()
      .reply(200, fixture('legacy/active-calls.json'))
      .get(P.peers)
      .twice()
      .reply(200, fixture('legacy/peers.json'))
      .get(P.sip)
      .reply(200, fixture('legacy/sip-registry.json'))
      .get(P.iax)
      .reply(200, fixture('legacy/iax-registry.json'));
    const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="calls"}')).toBe(1);
    // 202→203 internal; trunk→204 inbound (with an ended leg to 205); 201→84991234567 outbound
    expect(sample(text, 'mikopbx_active_calls{direction="inbound"}')).toBe(1);
    expect(sample(text, 'mikopbx_active_calls{direction="outbound"}')).toBe(1);
    expect(sample(text, 'mikopbx_active_calls{direction="internal"}')).toBe(1);
    // numbers on live legs still correct UNKNOWN phones in a call
    expect(sample(text, 'mikopbx_sip_peer_up{extension="204"}')).toBe(1);
    expect(sample(text, `mikopbx_api_requests_total{endpoint="${P.channels}",code="404"}`)).toBe(1);
  });

  it('after the session expired: exactly one new login and one retry, then the new cookie', async () => {
    const scope = nock(PBX);
    mockStatus(mockLogin(scope, sid(1)), sid(1));
    // poll 2: the PBX forgot the session (expired, or Redis restarted)
    scope
      .get(P.sip)
      .matchHeader('cookie', `PHPSESSID=${sid(1)}`)
      .reply(401, fixture('legacy/unauthorized.json'));
    mockLogin(scope, sid(2));
    mockStatus(scope, sid(2));
    mockStatus(scope, sid(2)); // poll 3: no login
    const { target, lines } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    await target.runStatusPoll();
    const text2 = target.metricsText();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(sample(target.metricsText(), `mikopbx_api_requests_total{endpoint="${LOGIN_PATH}",code="200"}`)).toBe(2);
    expect(sample(text2, 'mikopbx_up')).toBe(1);
    expect(sample(text2, 'mikopbx_collector_success{collector="providers"}')).toBe(1);
    expect(sample(text2, `mikopbx_api_requests_total{endpoint="${P.sip}",code="401"}`)).toBe(1);
    expect(lines.filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))).toEqual([]);
    for (const l of lines) for (const secret of [sid(1), sid(2), PASSWORD]) expect(l).not.toContain(secret);
  });

  it('a brand-new session refused at once: back-off instead of a login loop', async () => {
    const scope = nock(PBX);
    mockLogin(scope, sid(1)).get(P.sip).reply(401, fixture('legacy/unauthorized.json'));
    mockLogin(scope, sid(2)).get(P.sip).reply(401, fixture('legacy/unauthorized.json'));
    const { target, lines } = newTarget(legacyConfig({ apiVersion: 'legacy' }));
    await target.runStatusPoll();
    await target.runStatusPoll(); // during the back-off: nothing is sent
    target.close();
    expect(scope.isDone()).toBe(true);
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(0);
    expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="login_refused"}')).toBe((NOW + 30 * MIN) / 1000);
    expect(lines.join('')).toMatch(/"level":"error".*refused a request made right after a successful login.*sending nothing to this PBX for 30 min/);
  });

  it('without credentials: one refused request, then a back-off naming MIKOPBX_LOGIN', async () => {
    const scope = nock(PBX).get(P.ping).reply(404, fixture('legacy/ping-404.json')).get(P.sip).reply(401, fixture('legacy/unauthorized.json'));
    const { target, lines } = newTarget(legacyConfig({ login: undefined, password: undefined, apiKey: 'e'.repeat(64) }));
    await target.runStatusPoll();
    await target.runStatusPoll();
    target.close();
    expect(scope.isDone()).toBe(true);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    expect(lines.join('')).toMatch(/set MIKOPBX_LOGIN and MIKOPBX_PASSWORD/);
  });

  it.each([
    [
      'a wrong password',
      'legacy/login-failed.json',
      /MikoPBX refused the login for user monitor: wrong MIKOPBX_LOGIN or MIKOPBX_PASSWORD.*the PBX said: Authorization failed, you have 9 attempts left/,
    ],
    ['the login throttle', 'legacy/login-throttled.json', /login throttle refused user monitor .*Too many login attempts/],
  ])('%s: plain error log, mikopbx_up 0, and no request until the back-off ends', async (_name, body, message) => {
    let t = NOW;
    const scope = nock(PBX).post(LOGIN_PATH).reply(200, fixture(body), { 'content-type': 'application/json' });
    const { target, lines } = newTarget(legacyConfig({ apiVersion: 'legacy' }), () => t);
    await target.runStatusPoll();
    for (let i = 0; i < 59; i++) {
      t += 30_000;
      await target.runStatusPoll(); // 29.5 min: nock would fail on any request
    }
    target.close();
    expect(scope.isDone()).toBe(true);
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(0);
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(0);
    expect(sample(text, `mikopbx_api_requests_total{endpoint="${LOGIN_PATH}",code="200"}`)).toBe(1);
    const errors = lines.filter((l) => l.includes('"level":"error"'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(errors[0]).toMatch(/sending nothing to this PBX for 30 min so that its login throttle and fail2ban do not ban/);
    for (const l of lines) expect(l).not.toContain(PASSWORD);
  });

  it('wrong password over 24 h: at most one login attempt per back-off period, nothing else sent', async () => {
    let t = NOW;
    const logins: number[] = [];
    let others = 0;
    nock(PBX)
      .get(P.ping)
      .reply(404, fixture('legacy/ping-404.json'))
      .post(LOGIN_PATH)
      .reply(() => {
        logins.push(t);
        return [200, fixture('legacy/login-failed.json'), { 'content-type': 'application/json' }];
      })
      .persist()
      .get(/.*/)
      .reply(() => {
        others++;
        return [500, ''];
      })
      .persist();
    const { target } = newTarget(legacyConfig(), () => t);
    const ups: number[] = [];
    for (let i = 0; i < (24 * 60 * MIN) / 30_000; i++) {
      await target.runStatusPoll();
      ups.push(sample(target.metricsText(), 'mikopbx_up') as number);
      t += 30_000;
    }
    target.close();
    expect(others).toBe(0);
    expect(ups.every((u) => u === 0)).toBe(true);
    // back-off 30 min, doubling to at most 4 h: attempts at 0, 30, 90, 210, 450, 690, 930, 1170, 1410 min
    expect(logins.map((x) => (x - NOW) / MIN)).toEqual([0, 30, 90, 210, 450, 690, 930, 1170, 1410]);
    // never two attempts within 30 min: the PBX throttle (10 / 5 min) and fail2ban (5 / 30 min) stay far away
    expect(maxInWindow(logins, 30 * MIN)).toBe(1);
  });

  it('a PBX that drops every session: re-logins and 401s stay below the throttle and fail2ban limits', async () => {
    let t = NOW;
    let n = 0;
    let valid = '';
    const logins: number[] = [];
    const refusals: number[] = [];
    const ok = (path: string): string =>
      ({ [P.sip]: 'legacy/sip-registry.json', [P.iax]: 'legacy/iax-registry.json', [P.channels]: 'legacy/empty.json', [P.peers]: 'legacy/peers.json' })[path] ??
      'legacy/not-found.json';
    nock(PBX)
      .post(LOGIN_PATH)
      .reply(() => {
        logins.push(t);
        valid = sid(++n);
        return [200, fixture('legacy/login-ok.json'), setCookie(valid)];
      })
      .persist()
      .get(/.*/)
      .matchHeader('cookie', (v: string | null) => valid !== '' && v === `PHPSESSID=${valid}`)
      .reply((uri: string) => [200, fixture(ok(uri))])
      .persist()
      .get(/.*/)
      .reply(() => {
        refusals.push(t);
        return [401, fixture('legacy/unauthorized.json')];
      })
      .persist();
    const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }), () => t);
    for (let i = 0; i < (6 * 60 * MIN) / 30_000; i++) {
      await target.runStatusPoll();
      valid = ''; // the PBX loses every session between polls
      t += 30_000;
    }
    target.close();
    expect(refusals.length).toBeGreaterThan(0);
    expect(maxInWindow(refusals, 30 * MIN)).toBeLessThanOrEqual(3); // fail2ban bans after 5
    expect(maxInWindow(logins, 5 * MIN)).toBeLessThanOrEqual(3); // the PBX refuses the 10th
  });

  it('a login that fails without a verdict (redirect, 5xx): no back-off, but at most 3 logins in 5 min', async () => {
    let t = NOW;
    const scope = nock(PBX)
      .post(LOGIN_PATH)
      .reply(302, '', { location: 'https://pbx.test/admin-cabinet/session/start' })
      .post(LOGIN_PATH)
      .twice()
      .reply(502, '<html>Bad gateway</html>', { 'content-type': 'text/html' });
    const { target, lines } = newTarget(legacyConfig({ apiVersion: 'legacy' }), () => t);
    for (let i = 0; i < 6; i++) {
      await target.runStatusPoll();
      t += 30_000;
    }
    target.close();
    expect(scope.isDone()).toBe(true); // 3 logins, none in polls 4–6
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="login_refused"}')).toBe(0);
    const log = lines.join('');
    expect(log).toMatch(/redirect to https:\/\/pbx.test\/admin-cabinet\/session\/start on login; set MIKOPBX_URL/);
    expect(log).toMatch(/HTTP 502 on login/);
    expect(log).toMatch(/not logging in again for another \d+ s: 3 logins in the last 5 min/);
  });

  it.each([
    ['502', 502, {}],
    ['redirect', 302, { location: 'https://pbx.test/admin-cabinet/session/start' }],
  ] as const)(
    'a login failing without a verdict (%s) fails the rest of its poll without a second login; the next poll logs in again',
    async (_, status, headers) => {
      let t = NOW;
      const loginsAt: number[] = [];
      const scope = nock(PBX)
        .post(LOGIN_PATH)
        .reply(() => {
          loginsAt.push(t);
          return [status, '<html>Bad gateway</html>', { 'content-type': 'text/html', ...headers }];
        });
      mockStatus(mockLogin(scope, sid(7)), sid(7));
      const { target } = newTarget(legacyConfig({ apiVersion: 'legacy' }), () => t);
      await target.runStatusPoll();
      expect(loginsAt).toEqual([NOW]);
      for (const name of ['providers', 'calls', 'peers'] as const) {
        expect(target.results.get(name)?.error).toMatch(status === 502 ? /HTTP 502 on login/ : /HTTP 302 redirect to .* on login/);
      }
      expect(sample(target.metricsText(), `mikopbx_api_requests_total{endpoint="${LOGIN_PATH}",code="${status}"}`)).toBe(1);
      t += 30_000;
      await target.runStatusPoll();
      target.close();
      expect(scope.isDone()).toBe(true); // the second poll logged in (once) and ran every collector
      expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);
      for (const name of ['providers', 'calls', 'peers'] as const) expect(target.results.get(name)?.success).toBe(true);
    },
  );

  it('a session cookie registered at run time is scrubbed from every log line', () => {
    const lines: string[] = [];
    const scrubbers = new ScrubberRegistry();
    const logger = createLogger({ level: 'info', scrubbers, write: (l) => lines.push(l) });
    const cookie = sid(4242);
    const secrets = new SecretScrubber();
    scrubbers.add(secrets);
    secrets.add(cookie, { transient: true });
    logger.info({ note: `Cookie: PHPSESSID=${cookie}` }, `session ${cookie}`);
    logger.info({ headers: { cookie: `PHPSESSID=${cookie}` } }, 'request');
    expect(lines.join('')).not.toContain(cookie);
    expect(lines.join('')).toContain('[REDACTED]');
  });
});
