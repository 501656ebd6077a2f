import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PbxApi } from '../../src/api/pbx-api.js';
import { startExporter } from '../../src/exporter.js';
import { PbxTarget } from '../../src/target.js';
import { FakeCdrPbx, callLeg } from '../helpers/fake-cdr.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';
import { expectPromtoolValid, toolOrSkip } from '../helpers/tools.js';
import { sample } from '../helpers/exposition.js';

// A stand-in legacy adapter: these tests need its `cdr: undefined`, not its login flow
// (the real one is exercised against the simulator in test/e2e/cdr-simulator.test.ts).
vi.mock('../../src/api/factory.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/factory.js')>();
  return {
    createApi: (generation: string, ...rest: Parameters<typeof real.createApi> extends [unknown, ...infer R] ? R : never) => {
      if (generation !== 'legacy') return real.createApi('v3', ...rest);
      const legacy: PbxApi = {
        generation: 'legacy',
        cdr: undefined,
        health: undefined,
        getExtensions: async () => [],
        getProviders: async () => [],
        getActiveCalls: async () => ({ legs: [], hasChannels: false }),
      };
      return legacy;
    },
  };
});

const PBX = 'http://pbx.test';
// Real time: the adapter built by the target computes its date window from the real clock.
const NOW = Date.now();
const T0 = NOW / 1000 - 3600;

/** Serves the fake cdr table over HTTP (nock), recording the raw query strings. */
function serveCdr(pbx: FakeCdrPbx, rawQueries: string[] = []) {
  return nock(PBX)
    .get('/pbxcore/api/v3/cdr')
    .query(true)
    .reply((req: unknown) => {
      // nock 15 passes the request (older versions the path)
      const url = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX);
      rawQueries.push(url.search.slice(1));
      const q = Object.fromEntries(url.searchParams);
      const res = pbx.handle(q);
      return [res.status, res.body, { 'content-type': 'application/json' }];
    })
    .persist();
}

describe('PbxTarget: cdr collector', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('a cdr poll never outlasts its interval: a slow backlog stops sending at the deadline', async () => {
    const pbx = new FakeCdrPbx(Date.now(), 180);
    const queries: string[] = [];
    nock(PBX).get('/pbxcore/api/v3/system:ping').reply(200, fixture('v3/ping.json'));
    nock(PBX)
      .get('/pbxcore/api/v3/cdr')
      .query(true)
      .delay(700) // each page takes 0.7 s; the poll has 1 s (its interval)
      .reply((req: unknown) => {
        const url = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX);
        queries.push(url.search);
        const res = pbx.handle(Object.fromEntries(url.searchParams));
        return [res.status, res.body, { 'content-type': 'application/json' }];
      })
      .persist();
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({
      config: testConfig({ collectors: ['cdr'], cdrPollIntervalSeconds: 1, timeoutSeconds: 1, maxRequestsPerMinute: 200 }),
      logger,
    });
    await target.runCdrPoll(); // finds the newest id
    for (let i = 0; i < 2500; i++) pbx.add(callLeg('internal', `c${i}`, T0 + i, '201', '202', { answerAfter: 1, talk: 5 }));
    const before = queries.length;
    await target.runCdrPoll(); // three pages of backlog; a second page would end after the deadline
    target.close();
    expect(queries.length - before).toBeLessThanOrEqual(2); // without the deadline: all 3 pages
    expect(target.results.get('cdr')?.success).toBe(false);
  });

  it('counts completed calls over HTTP: explicit local dates without T, ready after the first run', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    pbx.add(callLeg('inbound', 'before-start', T0 - 100, '201', { answerAfter: 3 }));
    const raw: string[] = [];
    nock(PBX).get('/pbxcore/api/v3/system:ping').reply(200, fixture('v3/ping.json'));
    serveCdr(pbx, raw);
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['cdr'] }), logger, now: () => NOW });
    expect(target.isReady()).toBe(false);
    await target.runCdrPoll();
    expect(target.isReady()).toBe(true);
    pbx.add(
      callLeg('inbound', 'q', T0, '201', { ring: 10 }),
      callLeg('inbound', 'q', T0 + 0.5, '202', { answerAfter: 4, talk: 30 }),
      callLeg('outbound', 'o', T0 + 60, '203', { disposition: 'BUSY', ring: 2 }),
    );
    await target.runCdrPoll();
    await target.runCdrPoll();
    target.close();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_calls_total{direction="inbound",disposition="answered"}')).toBe(1);
    expect(sample(text, 'mikopbx_calls_total{direction="outbound",disposition="busy"}')).toBe(1);
    expect(sample(text, 'mikopbx_cdr_records_total')).toBe(3);
    expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(1);
    expect(sample(text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/v3/cdr",code="200"}')).toBe(3);
    expect(raw).toHaveLength(3);
    for (const q of raw) {
      const p = new URLSearchParams(q);
      expect(p.get('dateFrom')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(p.get('dateTo')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(q).not.toMatch(/date(From|To)=[^&]*T/);
      expect(p.get('grouped')).toBe('false');
    }
  });

  it('a failed cdr run marks only cdr failed and keeps its counters', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    serveCdr(pbx);
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ collectors: ['cdr'], apiVersion: 'v3' }), logger, now: () => NOW });
    await target.runCdrPoll();
    pbx.add(callLeg('internal', 'a', T0, '201', '202', { answerAfter: 2 }), callLeg('internal', 'b', T0 + 9, '201', '202', { ring: 2 }));
    await target.runCdrPoll();
    pbx.faults.push({ status: 500, body: '{"result":false,"messages":{"error":["boom"]}}' });
    await target.runCdrPoll();
    let text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(0);
    expect(sample(text, 'mikopbx_calls_total{direction="internal",disposition="answered"}')).toBe(1);
    expect(lines.filter((l) => l.includes('"level":"warn"')).join('')).toMatch(/"collector":"cdr".*HTTP 500: boom/);
    await target.runCdrPoll();
    target.close();
    text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="cdr"}')).toBe(1);
    expect(sample(text, 'mikopbx_calls_total{direction="internal",disposition="answered"}')).toBe(1);
    expect(sample(text, 'mikopbx_calls_total{direction="internal",disposition="noanswer"}')).toBe(1);
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('the exposition with cdr series passes promtool check metrics', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    serveCdr(pbx);
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['cdr'], apiVersion: 'v3' }), logger, now: () => NOW });
    await target.runCdrPoll();
    pbx.add(callLeg('inbound', 'a', T0, '201', { answerAfter: 2 }));
    await target.runCdrPoll();
    await target.runCdrPoll();
    target.close();
    expectPromtoolValid(target.metricsText());
  });

  it('legacy detected by auto: cdr not started, said once, nothing exported, /readyz does not wait for it', async () => {
    nock(PBX).get('/pbxcore/api/v3/system:ping').reply(404, '<html>Not Found</html>');
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ collectors: ['peers', 'providers', 'calls', 'cdr'] }), logger, now: () => NOW });
    expect(target.metricsText()).toBe('');
    await target.runStatusPoll();
    expect(target.isReady()).toBe(true);
    await target.runCdrPoll();
    await target.runCdrPoll();
    target.close();
    const text = target.metricsText();
    expect(text).not.toMatch(/mikopbx_calls_total|mikopbx_cdr_|mikopbx_call_/);
    expect(text).not.toContain('collector="cdr"');
    expect(sample(text, 'mikopbx_collector_success{collector="peers"}')).toBe(1);
    const said = lines.filter((l) => l.includes('cdr collector not started'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/legacy MikoPBX core .* has no CDR endpoint/);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('legacy configured: says so once at start and sends no CDR request', async () => {
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ collectors: ['cdr'], apiVersion: 'legacy' }), logger, now: () => NOW });
    expect(target.isReady()).toBe(true);
    await target.runCdrPoll();
    await target.render();
    target.close();
    expect(target.metricsText()).not.toMatch(/mikopbx_calls_total|collector="cdr"/);
    expect(lines.filter((l) => l.includes('cdr collector not started'))).toHaveLength(1);
  });

  it('the exporter schedules the cdr job every CDR_POLL_INTERVAL_SECONDS', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    serveCdr(pbx);
    const { logger } = await captureLogger('silent');
    const exporter = await startExporter(testConfig({ collectors: ['cdr'], apiVersion: 'v3', cdrPollIntervalSeconds: 1 }), logger);
    try {
      await vi.waitFor(() => expect(pbx.requests.length).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 50 });
      expect(pbx.requests[0]).toMatchObject({ order: 'DESC' });
      expect(pbx.requests[1]).toMatchObject({ order: 'ASC' });
    } finally {
      await exporter.stop();
    }
  });
});
