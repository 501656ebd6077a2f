import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { PbxTarget } from '../../src/target.js';
import { fixture, testConfig } from '../helpers/fixtures.js';

// "One structured line per failed poll saying why": however many collectors a poll has, and
// however long a ban or a spent budget lasts after the line that announced it.

const PBX = 'http://pbx.test';
const KEY = 'c'.repeat(64);
const EP = {
  providers: '/pbxcore/api/v3/sip-providers:getStatuses',
  channels: '/pbxcore/api/v3/pbx-status:getActiveChannels',
  extensions: '/pbxcore/api/v3/sip:getStatuses',
};
const ALL = ['providers', 'calls', 'peers'];

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function newTarget(overrides: Partial<Config> = {}) {
  let t = Date.UTC(2026, 3, 10, 11, 0, 0);
  const lines: Line[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Line) });
  const target = new PbxTarget({
    config: testConfig({ url: PBX, apiKey: KEY, apiVersion: 'v3', ...overrides }),
    logger,
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
  });
  return {
    target,
    lines,
    advance: (ms: number) => {
      t += ms;
    },
    /** Runs one status poll; returns the lines it logged. */
    async poll(): Promise<Line[]> {
      const from = lines.length;
      await target.runStatusPoll();
      return lines.slice(from);
    },
  };
}

const warnings = (lines: Line[]) => lines.filter((l) => l.level === 'warn' || l.level === 'error');

function healthy(times = 1) {
  return nock(PBX)
    .get(EP.providers)
    .times(times)
    .reply(200, fixture('v3/providers-getStatuses.json'))
    .get(EP.channels)
    .times(times)
    .reply(200, fixture('v3/active-channels.json'))
    .get(EP.extensions)
    .times(times)
    .reply(200, fixture('v3/sip-getStatuses.json'));
}

describe('log lines: exactly one per failed poll', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('HTTP 500 on every endpoint: one warn line per poll naming the first failure and every failed collector', async () => {
    const h = newTarget();
    nock(PBX).get(/.*/).times(6).reply(500, 'boom');
    for (let poll = 0; poll < 2; poll++) {
      const w = warnings(await h.poll());
      expect(w).toHaveLength(1);
      expect(w[0]).toMatchObject({ poll: 'status', collector: 'providers', collectors: ALL, reason: 'http', endpoint: EP.providers, status: 500 });
      expect(w[0]?.msg).toMatch(/^status poll failed: .*HTTP 500/);
      h.advance(30_000);
    }
    // Each collector's own failure is still there, at debug.
    expect(h.lines.filter((l) => l.level === 'debug' && /failed: .*HTTP 500/.test(l.msg)).length).toBe(6);
    h.target.close();
  });

  it('HTTP 429: one line for the poll that got it, none while the ban lasts, one info line when the PBX answers again', async () => {
    const h = newTarget();
    nock(PBX).get(EP.providers).reply(429, 'Too many requests', { 'content-type': 'text/plain' });
    const first = warnings(await h.poll());
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ reason: 'rate-limited', endpoint: EP.providers, status: 429, collectors: ALL });

    // The ban lasts 305 s: ten polls, nothing sent, nothing above debug.
    for (let poll = 0; poll < 10; poll++) {
      h.advance(30_000);
      const lines = await h.poll();
      expect(warnings(lines)).toEqual([]);
      expect(lines.some((l) => l.level === 'debug' && /not sent: backing off \(rate limited\)/.test(l.msg))).toBe(true);
    }
    expect(h.target.results.get('peers')?.error).toMatch(/not sent: backing off/); // still on the landing page
    expect(h.target.metricsText()).toMatch(/^mikopbx_collector_success\{collector="peers"\} 0$/m);

    h.advance(30_000);
    healthy();
    const back = await h.poll();
    expect(warnings(back)).toEqual([]);
    expect(back.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['PBX API answers again']);
    h.target.close();
  });

  it('a spent request budget: one line when it runs out, then quiet (the skips are counted, up stays)', async () => {
    const h = newTarget({ maxRequestsPerMinute: 3 });
    healthy();
    // No schedule fits 3 requests a minute beside the spare: said once, at start.
    const first = warnings(await h.poll());
    expect(first).toHaveLength(1);
    expect(first[0]?.msg).toMatch(/MIKOPBX_MAX_REQUESTS_PER_MINUTE=3, and no longer interval fits/);
    h.advance(1000);
    const spent = warnings(await h.poll());
    expect(spent).toHaveLength(1);
    expect(spent[0]).toMatchObject({ reason: 'budget', collectors: ALL });
    expect(spent[0]?.msg).toMatch(/^status poll skipped: \/pbxcore\/api\/v3\/[^ ]+: not sent: request budget of 3\/min is spent/);
    h.advance(1000);
    expect(warnings(await h.poll())).toEqual([]);
    const text = h.target.metricsText();
    expect(text).toMatch(/^mikopbx_up 1$/m);
    expect(text).toMatch(/^mikopbx_collector_skipped_total\{collector="peers",reason="budget"\} 2$/m);
    h.target.close();
  });

  it('connection refused: one line per poll, and one request per poll', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    nock.enableNetConnect(/127\.0\.0\.1/);
    const h = newTarget({ url: `http://127.0.0.1:${port}` });
    for (let poll = 1; poll <= 3; poll++) {
      const w = warnings(await h.poll());
      expect(w).toHaveLength(1);
      expect(w[0]).toMatchObject({ reason: 'network', endpoint: EP.providers, collectors: ALL });
      expect(w[0]?.msg).toMatch(/connection refused/);
      expect(h.target.metricsText()).toContain(`mikopbx_api_requests_total{endpoint="${EP.providers}",code="error"} ${poll}`);
      h.advance(30_000);
    }
    expect(h.target.metricsText()).not.toContain(`endpoint="${EP.extensions}"`);
    h.target.close();
  });

  it('a failing cdr poll: one line per poll, naming the cdr poll', async () => {
    const h = newTarget({ collectors: ['cdr'] });
    nock(PBX).get('/pbxcore/api/v3/cdr').query(true).times(2).reply(500, 'boom');
    for (let poll = 0; poll < 2; poll++) {
      const from = h.lines.length;
      await h.target.runCdrPoll();
      const w = warnings(h.lines.slice(from));
      expect(w).toHaveLength(1);
      expect(w[0]).toMatchObject({ poll: 'cdr', collector: 'cdr', collectors: ['cdr'], reason: 'http', status: 500 });
      h.advance(60_000);
    }
    h.target.close();
  });

  it('a mixed poll where only one collector fails: one line naming only it', async () => {
    const h = newTarget();
    nock(PBX)
      .get(EP.providers)
      .reply(200, fixture('v3/providers-getStatuses.json'))
      .get(EP.channels)
      .reply(502, 'bad gateway')
      .get(EP.extensions)
      .reply(200, fixture('v3/sip-getStatuses.json'));
    const w = warnings(await h.poll());
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ collector: 'calls', collectors: ['calls'], reason: 'http', endpoint: EP.channels, status: 502 });
    expect(h.target.metricsText()).toMatch(/^mikopbx_up 1$/m);
    h.target.close();
  });
});
