import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { DEFAULT_API_KEY, startSimulator } from '../../sim/index.js';
import { getJson, withSim } from './helpers.js';

interface RawResult {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
  ms: number;
}

/** node:http so that transport errors keep their codes */
function rawGet(
  sim: Simulator,
  path: string,
  timeoutMs = 3000,
  headers: Record<string, string> = { Authorization: `Bearer ${DEFAULT_API_KEY}` },
): Promise<RawResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(`${sim.url}${path}`, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: res.statusCode, error: e.code ?? e.message, ms: Date.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
    req.end();
  });
}

const parses = (s: string | undefined): boolean => {
  try {
    JSON.parse(s ?? '');
    return true;
  } catch {
    return false;
  }
};

const STATUSES = '/pbxcore/api/v3/sip:getStatuses';
const PING = '/pbxcore/api/v3/system:ping';
const ACTIVE = '/pbxcore/api/v3/pbx-status:getActiveCalls';

let sim: Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

describe('faults', () => {
  it('reset destroys the socket (ECONNRESET)', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'reset', count: 1 });
    expect((await rawGet(sim, PING)).error).toBe('ECONNRESET');
    expect((await rawGet(sim, PING)).status).toBe(200);
    expect(sim.requests.at(-2)?.status).toBe(0);
  });

  it('hang never answers; close() still ends promptly', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'hang', paths: [STATUSES] });
    const r = await rawGet(sim, STATUSES, 300);
    expect(r.error).toBe('ETIMEDOUT');
    expect((await rawGet(sim, PING)).status).toBe(200);
    const pending = rawGet(sim, STATUSES, 10_000);
    await new Promise((res) => setTimeout(res, 50));
    const t = Date.now();
    await sim.close();
    expect(Date.now() - t).toBeLessThan(1000);
    expect((await pending).error).toBeDefined();
    sim = null;
  });

  it('slow-drip sends a valid body one byte at a time', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'slow-drip', intervalMs: 1, paths: [PING] });
    const r = await rawGet(sim, PING, 10_000);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body as string).result).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual((r.body?.length ?? 0) * 1);
  });

  it('http-500 and worker-timeout-400 use the PBX bodies of each generation', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'http-500', count: 1 });
    const v3 = await rawGet(sim, STATUSES);
    expect(v3.status).toBe(500);
    expect(JSON.parse(v3.body as string)).toMatchObject({ result: false, messages: { error: ['Internal Server Error'] } });
    sim.faults.set({ kind: 'worker-timeout-400', count: 1, delayMs: 20 });
    const wt = await rawGet(sim, STATUSES);
    expect(wt.status).toBe(400);
    const body = JSON.parse(wt.body as string);
    expect(Object.keys(body)).toEqual(['result', 'messages', 'meta']);
    expect(body.messages.error).toEqual(['Request timeout or worker not responding']);
    sim.setMode('legacy');
    sim.faults.set({ kind: 'http-500', count: 1 });
    const legacy = await rawGet(sim, '/pbxcore/api/sip/getPeersStatuses');
    expect(legacy.status).toBe(500);
    expect(JSON.parse(legacy.body as string)).toMatchObject({ jsonapi: { version: '1.0' }, errors: ['500 (Internal Server Error) '] });
  });

  it('status-503 gives the exact backpressure body', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'status-503' });
    const r = await rawGet(sim, STATUSES);
    expect(r.status).toBe(503);
    const body = JSON.parse(r.body as string);
    expect(Object.keys(body)).toEqual(['result', 'data', 'messages', 'function', 'processor', 'pid', 'meta']);
    expect(body).toMatchObject({
      result: false,
      data: [],
      messages: { error: ['Service temporarily unavailable, please retry later'] },
      function: '',
      processor: '',
    });
  });

  it('status-429 answers plain text and bans the IP like the limiter', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'status-429', count: 1 });
    const r = await rawGet(sim, PING);
    expect(r.status).toBe(429);
    expect(r.body).toBe('Too many requests\n');
    expect(r.headers?.['content-type']).toBe('text/plain');
    expect(sim.faults.list()).toEqual([]);
    expect((await rawGet(sim, PING)).status).toBe(429); // still banned
    await fetch(`${sim.url}/__sim/limits/reset`, { method: 'POST' });
    expect((await rawGet(sim, PING)).status).toBe(200);
  });

  it('html-200 sends an nginx-style HTML page with status 200', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'html-200' });
    const r = await rawGet(sim, STATUSES);
    expect(r.status).toBe(200);
    expect(r.headers?.['content-type']).toMatch(/^text\/html/);
    expect(r.body).toMatch(/^<!DOCTYPE html>/);
  });

  it('html-login-200 sends the admin-cabinet login form with status 200', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'html-login-200' });
    const r = await rawGet(sim, STATUSES);
    expect(r.status).toBe(200);
    expect(r.headers?.['content-type']).toMatch(/^text\/html/);
    expect(r.body).toMatch(/<form[^>]*action="\/admin-cabinet\/session\/start"/);
  });

  it('truncated-json and malformed-json send unparseable bodies with status 200', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'truncated-json', count: 1 });
    const t = await rawGet(sim, STATUSES);
    expect(t.status).toBe(200);
    expect(t.body?.startsWith('{"result":true,"data":{')).toBe(true);
    expect(parses(t.body)).toBe(false);
    sim.faults.set({ kind: 'malformed-json', count: 1 });
    const m = await rawGet(sim, STATUSES);
    expect(m.status).toBe(200);
    expect(m.body?.startsWith('<br />')).toBe(true);
    expect(parses(m.body)).toBe(false);
    expect(parses((await rawGet(sim, STATUSES)).body)).toBe(true);
  });

  it('result-false is 422 on v3 and 200 on legacy', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'result-false', message: 'boom' });
    const v3 = await getJson(sim, STATUSES);
    expect(v3.status).toBe(422);
    expect(v3.json).toMatchObject({ result: false, data: [], messages: { error: ['boom'] }, function: 'getStatuses' });
    // a request that fails auth does not consume it
    expect((await rawGet(sim, STATUSES, 3000, {})).status).toBe(401);
    sim.setMode('legacy');
    const r = await rawGet(sim, '/pbxcore/api/sip/getPeersStatuses', 3000, {});
    expect(r.status).toBe(401);
    await sim.close();
    sim = await withSim({ mode: 'legacy', localhostBypass: true });
    sim.faults.set({ kind: 'result-false' });
    const legacy = await rawGet(sim, '/pbxcore/api/sip/getPeersStatuses', 3000, {});
    expect(legacy.status).toBe(200);
    expect(JSON.parse(legacy.body as string)).toMatchObject({ jsonapi: { version: '1.0' }, result: false });
  });

  it('wrong-shape keeps the envelope but swaps the data type', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'wrong-shape' });
    const obj = await getJson(sim, STATUSES);
    expect(obj.json.result).toBe(true);
    expect(Array.isArray(obj.json.data)).toBe(true);
    expect(typeof obj.json.data[0]).toBe('string');
    const list = await getJson(sim, ACTIVE);
    expect(Array.isArray(list.json.data)).toBe(false);
    sim.faults.set({ kind: 'wrong-shape', data: 42 });
    expect((await getJson(sim, STATUSES)).json.data).toBe(42);
  });

  it('empty-active-calls returns data:[] for active calls/channels only', async () => {
    sim = await withSim({ activeCalls: 3 });
    sim.faults.set({ kind: 'empty-active-calls' });
    const r = await getJson(sim, ACTIVE);
    expect(r.json).toMatchObject({ result: true, data: [] });
    expect((await getJson(sim, '/pbxcore/api/v3/pbx-status:getActiveChannels')).json.data).toEqual([]);
    expect(Object.keys((await getJson(sim, STATUSES)).json.data).length).toBeGreaterThan(0);
    expect(sim.model.truth().activeCallsTotal).toBe(3);
    sim.setMode('legacy');
    await sim.close();
    sim = await withSim({ mode: 'legacy', localhostBypass: true, activeCalls: 2 });
    sim.faults.set({ kind: 'empty-active-calls' });
    const legacy = await rawGet(sim, '/pbxcore/api/cdr/getActiveCalls', 3000, {});
    expect(JSON.parse(legacy.body as string).data).toEqual([]);
  });

  it('huge-body streams a body of the requested size', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'huge-body', sizeBytes: 3 * 1024 * 1024, count: 1 });
    const r = await rawGet(sim, STATUSES, 10_000);
    expect(r.status).toBe(200);
    expect(Number(r.headers?.['content-length'])).toBe(r.body?.length);
    expect(r.body?.length).toBeGreaterThan(3 * 1024 * 1024 - 2048);
    expect(parses(r.body)).toBe(true);
    // a client that gives up does not wedge the simulator
    sim.faults.set({ kind: 'huge-body' });
    const ctl = new AbortController();
    const res = await fetch(sim.url + STATUSES, { signal: ctl.signal });
    expect(res.headers.get('content-length')).toMatch(/^5\d{7}$/);
    ctl.abort();
    sim.faults.clear();
    expect((await rawGet(sim, PING)).status).toBe(200);
  });

  it('count and paths limit where and how often a fault fires', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'status-503', paths: ['/pbxcore/api/v3/sip'], count: 2 });
    expect((await rawGet(sim, PING)).status).toBe(200);
    expect((await rawGet(sim, STATUSES)).status).toBe(503);
    expect((await rawGet(sim, '/pbxcore/api/v3/sip/201:getStatus')).status).toBe(503);
    expect((await rawGet(sim, STATUSES)).status).toBe(200);
    expect(sim.faults.fired).toBe(2);
    expect(() => sim?.faults.set({ kind: 'nope' as never })).toThrow();
  });

  it('skip lets the first matching requests through, then the fault fires', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'status-503', paths: [STATUSES], skip: 2, count: 1 });
    expect((await rawGet(sim, PING)).status).toBe(200); // not matching: does not use up a skip
    expect((await rawGet(sim, STATUSES)).status).toBe(200);
    expect((await rawGet(sim, STATUSES)).status).toBe(200);
    expect((await rawGet(sim, STATUSES)).status).toBe(503);
    expect((await rawGet(sim, STATUSES)).status).toBe(200);
    expect(sim.faults.fired).toBe(1);
    expect(() => sim?.faults.set({ kind: 'reset', skip: -1 })).toThrow();
  });

  it('a held fault fires first on every request and survives set()/clear() until released', async () => {
    sim = await withSim();
    const release = sim.faults.hold({ kind: 'status-503', paths: [STATUSES] });
    sim.faults.set({ kind: 'http-500', paths: [STATUSES] });
    expect((await rawGet(sim, STATUSES)).status).toBe(503);
    sim.faults.clear();
    expect(sim.faults.list()).toEqual([]);
    for (let i = 0; i < 3; i++) expect((await rawGet(sim, STATUSES)).status).toBe(503);
    expect((await rawGet(sim, PING)).status).toBe(200);
    release();
    expect((await rawGet(sim, STATUSES)).status).toBe(200);
    expect(sim.faults.fired).toBe(4);
  });
});

describe('PBX down and back', () => {
  it('restarts on the same port after close()', async () => {
    const first = await startSimulator({ rateLimit: false });
    const port = first.port;
    first.faults.set({ kind: 'hang' });
    const hung = rawGet(first, PING, 5000);
    await new Promise((r) => setTimeout(r, 30));
    await first.close();
    expect((await hung).error).toBeDefined();
    expect((await rawGet(first, PING, 1000)).error).toBe('ECONNREFUSED');
    sim = await startSimulator({ port, rateLimit: false });
    expect(sim.port).toBe(port);
    expect((await rawGet(sim, PING)).status).toBe(200);
  });

  it('offline() refuses connections and drops open ones; online() brings the same PBX back', async () => {
    sim = await withSim();
    sim.faults.set({ kind: 'hang', paths: [STATUSES], count: 1 });
    const hung = rawGet(sim, STATUSES, 5000);
    await new Promise((r) => setTimeout(r, 30));
    await sim.offline();
    expect(sim.listening).toBe(false);
    expect((await hung).error).toBeDefined();
    expect((await rawGet(sim, PING, 1000)).error).toBe('ECONNREFUSED');
    sim.model.setExtensionStatus('201', 'Unknown');
    await sim.online();
    await sim.online(); // already listening: nothing to do
    expect(sim.listening).toBe(true);
    expect((await getJson(sim, STATUSES)).json.data['201'].status).toBe('Unknown');
  });
});
