import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import { Transport } from '../../src/api/transport.js';
import { SecretScrubber } from '../../src/secrets.js';
import { Scheduler } from '../../src/scheduler.js';

const PBX = 'http://pbx.test';
const PATH = '/pbxcore/api/v3/sip:getStatuses';

async function failure(p: Promise<unknown>): Promise<PbxApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PbxApiError);
    return e as PbxApiError;
  }
  throw new Error('expected a PbxApiError');
}

describe('Transport', () => {
  let t = Date.UTC(2026, 3, 10);
  const now = () => t;
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('keeps the memory of a 429 across later successes: the next ban is twice as long, as nginx does', async () => {
    const tr = new Transport({ baseUrl: PBX, timeoutMs: 1000, maxRequestsPerMinute: 60, now });
    nock(PBX).get(PATH).reply(429, 'Too many requests\n');
    expect((await failure(tr.send({ path: PATH }))).message).toContain('sending nothing for 305 s');
    t += 305_000;
    nock(PBX).get(PATH).reply(200, '{}');
    expect((await tr.send({ path: PATH })).status).toBe(200);
    t += 60_000;
    nock(PBX).get(PATH).reply(429, 'Too many requests\n');
    expect((await failure(tr.send({ path: PATH }))).message).toContain('sending nothing for 610 s');
    tr.close();
  });

  it('honours a Retry-After longer than its own pause', async () => {
    const tr = new Transport({ baseUrl: PBX, timeoutMs: 1000, maxRequestsPerMinute: 60, now });
    nock(PBX).get(PATH).reply(503, '{"result":false}', { 'retry-after': '120' });
    const e = await failure(tr.send({ path: PATH }));
    expect(e.kind).toBe('overloaded');
    expect(tr.backoff.until('overloaded')).toBe(t + 120_000);
    tr.close();
  });

  it('never retries by itself: one failed request is one request', async () => {
    nock.enableNetConnect('127.0.0.1');
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(500).end('boom');
      else req.socket.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tr = new Transport({ baseUrl: base, timeoutMs: 1000, maxRequestsPerMinute: 60, now });
    expect((await tr.send({ path: PATH })).status).toBe(500);
    expect(calls).toBe(1);
    expect((await failure(tr.send({ path: PATH }))).kind).toBe('network');
    expect(calls).toBe(2);
    tr.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('close() aborts the request in flight and refuses new ones', async () => {
    const tr = new Transport({ baseUrl: PBX, timeoutMs: 10_000, maxRequestsPerMinute: 60 });
    nock(PBX).get(PATH).delay(5000).reply(200, '{}');
    const pending = failure(tr.send({ path: PATH }));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    tr.close();
    const e = await pending;
    expect(e.kind).toBe('shutdown');
    expect(performance.now() - t0).toBeLessThan(500);
    expect((await failure(tr.send({ path: PATH }))).kind).toBe('shutdown');
  });

  it('a deadline cuts the request timeout and stops sending once reached', async () => {
    nock.enableNetConnect('127.0.0.1');
    const server = http.createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let real = Date.now();
    const tr = new Transport({ baseUrl: base, timeoutMs: 10_000, maxRequestsPerMinute: 60, now: () => real });
    const t0 = performance.now();
    const e = await failure(tr.withDeadline(real + 300, () => tr.send({ path: PATH })));
    expect(e.kind).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(1000);
    real += 1000;
    const late = await failure(tr.withDeadline(real - 1, () => tr.send({ path: PATH })));
    expect(late.kind).toBe('deadline');
    tr.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('session cookies handed out by the PBX become secrets scrubbed from every log line', async () => {
    const cookie = 'a3f1c2d4e5b6978800aa11bb22cc33dd';
    const secrets = new SecretScrubber();
    const tr = new Transport({ baseUrl: PBX, timeoutMs: 1000, maxRequestsPerMinute: 60, now, onSecret: (s) => secrets.add(s, { transient: true }) });
    nock(PBX)
      .get(PATH)
      .reply(200, '{}', { 'set-cookie': [`PHPSESSID=${cookie}; path=/; HttpOnly`] });
    await tr.send({ path: PATH });
    expect(secrets.scrub(`cookie: PHPSESSID=${cookie}`)).toBe('cookie: PHPSESSID=[REDACTED]');
    tr.close();
  });
});

describe('Scheduler', () => {
  it('never starts a poll while the previous one still runs, and runs on schedule after it', async () => {
    let t = 0;
    let started = 0;
    let release: () => void = () => undefined;
    const s = new Scheduler(
      [
        {
          name: 'status',
          intervalSeconds: 30,
          run: () => {
            started += 1;
            return new Promise<void>((r) => (release = r));
          },
        },
      ],
      () => undefined,
      () => t,
    );
    s.tick();
    for (t = 30_000; t <= 120_000; t += 30_000) s.tick();
    expect(started).toBe(1);
    release();
    await new Promise((r) => setTimeout(r, 0));
    s.tick();
    expect(started).toBe(2);
    release();
    await s.stop(100);
  });
});

describe('Scheduler ticks', () => {
  it('a tick a few milliseconds early still runs a job that is due every second', async () => {
    let t = 0;
    let runs = 0;
    const s = new Scheduler(
      [{ name: 'status', intervalSeconds: 1, run: async () => void (runs += 1) }],
      () => undefined,
      () => t,
    );
    for (t of [0, 999, 1998, 2997]) await s.tick();
    expect(runs).toBe(4);
    t = 3500; // not due: half a second early is no jitter
    await s.tick();
    expect(runs).toBe(4);
    await s.stop(100);
  });
});

describe('secret scrubber', () => {
  it('scrubs raw, JSON-escaped, URI-encoded and base64 forms; keeps only the newest transient ones', () => {
    const secrets = new SecretScrubber();
    const reg = (s: string, opts?: { transient?: boolean }) => secrets.add(s, opts);
    const scrub = (t: string) => secrets.scrub(t);
    const secret = 'p@ss "word"/x';
    reg(secret);
    expect(scrub(`a ${secret} b`)).toBe('a [REDACTED] b');
    expect(scrub(JSON.stringify({ v: secret }))).toBe('{"v":"[REDACTED]"}');
    expect(scrub(encodeURIComponent(secret))).toBe('[REDACTED]');
    expect(scrub(Buffer.from(secret).toString('base64'))).toBe('[REDACTED]');
    const first = 'transient-cookie-000000';
    reg(first, { transient: true });
    for (let i = 1; i <= 64; i++) reg(`transient-cookie-${String(i).padStart(6, '0')}`, { transient: true });
    expect(scrub(first)).toBe(first);
    expect(scrub('transient-cookie-000064')).toBe('[REDACTED]');
    expect(scrub(`a ${secret} b`)).toBe('a [REDACTED] b');
  });
});
