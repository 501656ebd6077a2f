import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderLanding } from '../../src/http/landing.js';
import { PbxTarget } from '../../src/target.js';
import { sample } from '../helpers/exposition.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';

// Issue 12: the request budget must never make mikopbx_up lie. The schedule is stretched to fit
// the budget, and a poll the exporter did not send leaves up and success as they were.

const PBX = 'http://pbx.test';
const STATUS_PATHS = ['/pbxcore/api/v3/sip-providers:getStatuses', '/pbxcore/api/v3/pbx-status:getActiveChannels', '/pbxcore/api/v3/sip:getStatuses'];

function v3Pbx(status = 200) {
  const files: Record<string, string> = {
    '/pbxcore/api/v3/system:ping': 'v3/ping.json',
    '/pbxcore/api/v3/sip-providers:getStatuses': 'v3/providers-getStatuses.json',
    '/pbxcore/api/v3/pbx-status:getActiveChannels': 'v3/active-channels.json',
    '/pbxcore/api/v3/sip:getStatuses': 'v3/sip-getStatuses.json',
  };
  const sent: string[] = [];
  nock(PBX)
    .get(/.*/)
    .reply((req: unknown) => {
      const uri = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX).pathname;
      sent.push(uri);
      const file = files[uri];
      if (!file) return [404, '{}'];
      return uri.endsWith('system:ping') || status === 200 ? [200, fixture(file)] : [status, '{"result":false,"data":[],"messages":{"error":["boom"]}}'];
    })
    .persist();
  return sent;
}

const help = (text: string, name: string) => new RegExp(`^# HELP ${name} (.*)$`, 'm').exec(text)?.[1] ?? '';
const json = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string });

describe('PbxTarget: the schedule fits the request budget, and unsent polls are no evidence', () => {
  let t = Date.UTC(2026, 3, 10, 11, 0, 0);
  const now = () => t;
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('auto at 1 s with 60/min: planned for legacy (5 s) until detection, then 4 s for v3; said once at warn', async () => {
    v3Pbx();
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ pollIntervalSeconds: 1, collectors: ['peers', 'providers', 'calls', 'cdr'] }), logger, now });
    await target.render();
    expect(target.intervalSeconds('status')).toBe(5);
    expect(sample(target.metricsText(), 'mikopbx_collector_interval_seconds{collector="peers"}')).toBe(5);
    expect(help(target.metricsText(), 'mikopbx_sip_peers')).toContain('Refreshed every 5 seconds.');
    const atStart = json(lines).filter((l) => l.reason === 'budget');
    expect(atStart.map((l) => l.level)).toEqual(['info']); // info: a plan for a generation not yet known
    expect(atStart[0]?.msg).toContain('until the API generation is detected');

    await target.runStatusPoll();
    const text = target.metricsText();
    expect(target.intervalSeconds('status')).toBe(4);
    expect(target.intervalSeconds('cdr')).toBe(60);
    expect(sample(text, 'mikopbx_collector_interval_seconds{collector="peers"}')).toBe(4);
    expect(sample(text, 'mikopbx_collector_interval_seconds{collector="calls"}')).toBe(4);
    expect(sample(text, 'mikopbx_collector_interval_seconds{collector="cdr"}')).toBe(60);
    for (const name of ['mikopbx_sip_peers', 'mikopbx_provider_registered', 'mikopbx_active_calls'])
      expect(help(text, name)).toContain('Refreshed every 4 seconds.');
    expect(help(text, 'mikopbx_up')).toContain('refreshed every 4 seconds.');
    expect(help(text, 'mikopbx_collector_success')).toContain('peers, providers and calls every 4 seconds, cdr every 60 seconds');
    expect(text).not.toMatch(/every 1 seconds|every 5 seconds/);
    const warned = json(lines).filter((l) => l.reason === 'budget' && l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]?.msg).toMatch(
      /^POLL_INTERVAL_SECONDS=1 needs 187 requests\/min on a v3 PBX .* MIKOPBX_MAX_REQUESTS_PER_MINUTE=60: polling status every 4 s instead; set POLL_INTERVAL_SECONDS=4 or more/,
    );
    expect(target.schedulePlan).toMatchObject({ generation: 'v3', statusIntervalSeconds: 4, fits: true });

    t += 4000;
    await target.runStatusPoll(); // the same generation: nothing said again
    expect(json(lines).filter((l) => l.reason === 'budget')).toHaveLength(2);
    target.close();
  });

  it('a fixed generation is planned (and said at warn) at start; a fitting schedule says nothing', async () => {
    const { logger, lines } = await captureLogger('info');
    const stretched = new PbxTarget({
      config: testConfig({ apiVersion: 'legacy', login: 'admin', password: 'x', apiKey: undefined, pollIntervalSeconds: 2 }),
      logger,
      now,
    });
    expect(stretched.intervalSeconds('peers')).toBe(5);
    expect(
      json(lines)
        .filter((l) => l.reason === 'budget')
        .map((l) => l.level),
    ).toEqual(['warn']);
    stretched.close();
    lines.length = 0;
    const fitting = new PbxTarget({ config: testConfig({ apiVersion: 'v3' }), logger, now });
    expect(fitting.intervalSeconds('peers')).toBe(30);
    expect(json(lines).filter((l) => l.reason === 'budget')).toEqual([]);
    fitting.close();
  });

  it('a poll the budget refuses leaves mikopbx_up, success and the last result as they were, and is counted', async () => {
    const sent = v3Pbx();
    const { logger } = await captureLogger('silent');
    // 3 requests a minute: the first poll fits, the next one cannot be sent before its deadline.
    const target = new PbxTarget({ config: testConfig({ apiVersion: 'v3', maxRequestsPerMinute: 3 }), logger, now });
    await target.runStatusPoll();
    const before = target.metricsText();
    expect(sample(before, 'mikopbx_up')).toBe(1);
    const result = target.results.get('peers');
    expect(result?.success).toBe(true);
    t += 1000;
    await target.runStatusPoll();
    expect(sent.filter((u) => STATUS_PATHS.includes(u))).toHaveLength(3); // nothing sent the second time
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(1);
    for (const c of ['peers', 'providers', 'calls']) {
      expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
      expect(sample(text, `mikopbx_collector_skipped_total{collector="${c}",reason="budget"}`)).toBe(1);
      expect(sample(text, `mikopbx_collector_last_success_timestamp_seconds{collector="${c}"}`)).toBe(
        sample(before, `mikopbx_collector_last_success_timestamp_seconds{collector="${c}"}`),
      );
    }
    expect(target.results.get('peers')).toBe(result);
    target.close();
  });

  it('a refused poll after a failed one keeps mikopbx_up at 0: it is no evidence either way', async () => {
    v3Pbx(500);
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiVersion: 'v3', maxRequestsPerMinute: 3 }), logger, now });
    await target.runStatusPoll(); // one request: a 500 for providers cuts nothing short, so all three are sent and fail
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    t += 1000;
    await target.runStatusPoll();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(0);
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(0);
    expect(sample(text, 'mikopbx_collector_skipped_total{collector="peers",reason="budget"}')).toBe(1);
    target.close();
  });

  it('polls after shutdown are counted as skipped (reason shutdown) and change nothing else', async () => {
    v3Pbx();
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiVersion: 'v3' }), logger, now });
    await target.runStatusPoll();
    target.close();
    t += 30_000;
    await target.runStatusPoll();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(sample(text, 'mikopbx_collector_success{collector="calls"}')).toBe(1);
    expect(sample(text, 'mikopbx_collector_skipped_total{collector="calls",reason="shutdown"}')).toBe(1);
    expect(sample(text, 'mikopbx_collector_skipped_total{collector="calls",reason="budget"}')).toBe(0);
  });

  it('the landing page shows the effective interval, and the configured one where they differ', () => {
    const page = renderLanding({
      version: '1',
      api: 'v3',
      ready: true,
      collectors: [
        { name: 'peers', result: undefined, intervalSeconds: 4, configuredSeconds: 1 },
        { name: 'cdr', result: undefined, intervalSeconds: 60, configuredSeconds: 60 },
      ],
    });
    expect(page).toContain('<td>every 4 s (configured 1 s; stretched to fit MIKOPBX_MAX_REQUESTS_PER_MINUTE)</td>');
    expect(page).toContain('<td>every 60 s</td>');
  });
});
