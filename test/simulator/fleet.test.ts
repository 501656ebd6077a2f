/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_API_KEY, DEFAULT_PASSWORD, startSimFleet, writeFleetTargetsFile } from '../../sim/index.js';
import type { SimFleet, SimFleetMember, SimFleetOptions } from '../../sim/index.js';
import { assignStates, planFleet } from '../../sim/fleet-plan.js';
import { T0, manualClock } from './helpers.js';

const STATUSES = '/pbxcore/api/v3/sip:getStatuses';
const PROVIDERS = '/pbxcore/api/v3/providers:getStatuses';
const PING = '/pbxcore/api/system/ping';

interface RawResult {
  status?: number;
  body?: string;
  error?: string;
}

/** node:http without keep-alive, so transport errors keep their codes and nothing lingers */
function rawGet(url: string, headers: Record<string, string> = {}, timeoutMs = 5000, method = 'GET', body?: string): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: res.statusCode, error: e.code ?? e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

const bearer = (key: string | undefined): Record<string, string> => ({ Authorization: `Bearer ${key ?? ''}` });
const v3Get = (m: SimFleetMember, path: string, key = m.apiKey, timeoutMs?: number): Promise<RawResult> => rawGet(m.url + path, bearer(key), timeoutMs);

/** legacy login with the member's (or the given) password; the PHPSESSID or null */
async function legacyLogin(m: SimFleetMember, password = m.password ?? ''): Promise<string | null> {
  const res = await fetch(`${m.url}/admin-cabinet/session/start`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Requested-With': 'XMLHttpRequest' },
    body: new URLSearchParams({ login: m.login ?? 'admin', password }).toString(),
  });
  await res.text();
  return /PHPSESSID=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? null;
}

/** resolves true once a TCP connection is accepted, false when refused */
function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const fleets: SimFleet[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function fleet(opts: SimFleetOptions): Promise<SimFleet> {
  const f = await startSimFleet({ living: false, rateLimit: false, historyCalls: 5, ...opts });
  fleets.push(f);
  return f;
}

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sim-fleet-'));
  dirs.push(d);
  return d;
}

const at = (f: SimFleet, i: number): SimFleetMember => f.members[i] as SimFleetMember;

describe('fleet plan', () => {
  it('names members with the prefix, zero-padded to the width of count; seeds are seedBase + i', () => {
    const plans = planFleet({ count: 120, seedBase: 7, namePrefix: 'site-a' });
    expect(plans.map((p) => p.name).slice(0, 2)).toEqual(['site-a-001', 'site-a-002']);
    expect(plans.at(-1)).toMatchObject({ name: 'site-a-120', seed: 126, index: 119, state: 'up', mode: 'v3' });
    expect(planFleet({ count: 5 }).map((p) => p.name)).toEqual(['pbx-1', 'pbx-2', 'pbx-3', 'pbx-4', 'pbx-5']);
    for (const p of plans) expect(`${p.name}${p.labels.customer}${p.labels.site}`).toMatch(/^[a-z0-9-]+$/);
    expect(() => planFleet({ count: 2, namePrefix: 'PBX_1' })).toThrow(/namePrefix/);
    expect(() => planFleet({ count: 0 })).toThrow(/count/);
  });

  it('makes every k-th member (counting from 1) legacy', () => {
    const modes = planFleet({ count: 7, legacyEvery: 3 }).map((p) => p.mode);
    expect(modes).toEqual(['v3', 'v3', 'legacy', 'v3', 'v3', 'legacy', 'v3']);
    expect(planFleet({ count: 3, legacyEvery: 1 }).every((p) => p.mode === 'legacy')).toBe(true);
  });

  it('picks fractions by centred strides among members still up, in the order down, hanging, banned', () => {
    const states = assignStates(10, { down: 0.2, hanging: 0.1, banned: 0.1 });
    expect(states).toEqual(['up', 'up', 'down', 'up', 'banned', 'hanging', 'up', 'down', 'up', 'up']);
    expect(assignStates(10, { down: 0.2, hanging: 0.1, banned: 0.1 })).toEqual(states); // deterministic
    expect(assignStates(1000, { down: 0.1, hanging: 0.05, banned: 0.02 }).filter((s) => s !== 'up')).toHaveLength(170);
    expect(assignStates(4, { down: [0, 3], banned: [1] })).toEqual(['down', 'banned', 'up', 'down']);
    expect(() => assignStates(4, { down: [1], hanging: [1] })).toThrow(/both down and hanging/);
    expect(() => assignStates(4, { down: [4] })).toThrow(/no member index 4/);
    expect(() => assignStates(4, { down: 3 })).toThrow(/fraction/);
    expect(() => assignStates(4, { down: 0.5, banned: 0.75 })).toThrow(/3 members asked for, only 2 left up/);
  });
});

describe('fleet', () => {
  it('members are independent PBXs: own port, own seed, own data; a fault on one leaves the others alone', async () => {
    const f = await fleet({ count: 3, seedBase: 40 });
    const [a, b, c] = [at(f, 0), at(f, 1), at(f, 2)];
    expect(new Set(f.members.map((m) => m.port)).size).toBe(3);
    expect(f.members.map((m) => m.seed)).toEqual([40, 41, 42]);
    const ra = JSON.parse((await v3Get(a, STATUSES)).body as string);
    const rb = JSON.parse((await v3Get(b, STATUSES)).body as string);
    expect(ra.data).not.toEqual(rb.data);
    const ids = async (m: SimFleetMember): Promise<string[]> => Object.keys(JSON.parse((await v3Get(m, PROVIDERS)).body as string).data.sip);
    const [idsA, idsB] = [await ids(a), await ids(b)];
    expect(idsA.length).toBeGreaterThan(0);
    expect(idsA).not.toEqual(idsB);

    a.sim?.faults.set({ kind: 'http-500' });
    a.sim?.model.setExtensionStatus('201', 'Unavailable');
    b.sim?.model.setExtensionStatus('201', 'Available');
    expect((await v3Get(a, STATUSES)).status).toBe(500);
    expect((await v3Get(b, STATUSES)).status).toBe(200);
    expect((await v3Get(c, STATUSES)).status).toBe(200);
    expect(b.sim?.model.getExtension('201')?.status).toBe('Available');
    expect(a.sim?.requests).toHaveLength(3);
    expect(b.sim?.requests).toHaveLength(3);
  });

  it('the same options give the same fleet', async () => {
    const clock = manualClock();
    const opts = { count: 2, seedBase: 9, now: clock.now };
    const [f1, f2] = [await fleet(opts), await fleet(opts)];
    expect(at(f1, 1).apiKey).toBe(at(f2, 1).apiKey);
    expect(at(f1, 1).sim?.model.truth()).toEqual(at(f2, 1).sim?.model.truth());
  });

  it('a down member refuses connections and has no simulator', async () => {
    const f = await fleet({ count: 3, down: [1] });
    const down = at(f, 1);
    expect(down).toMatchObject({ state: 'down', sim: null, name: 'pbx-2' });
    expect(down.port).toBeGreaterThan(0);
    expect((await v3Get(down, PING)).error).toBe('ECONNREFUSED');
    expect((await v3Get(at(f, 0), PING)).status).toBe(200);
  });

  it('a hanging member accepts TCP and never answers an API request (v3 and legacy)', async () => {
    const f = await fleet({ count: 4, legacyEvery: 2, hanging: [0, 1] });
    for (const m of [at(f, 0), at(f, 1)]) {
      expect(m.state).toBe('hanging');
      expect(await tcpAccepts(m.port)).toBe(true);
      expect((await v3Get(m, PING, m.apiKey, 300)).error).toBe('ETIMEDOUT');
      expect((await v3Get(m, STATUSES, m.apiKey, 300)).error).toBe('ETIMEDOUT');
      expect((await rawGet(`${m.url}/admin-cabinet/session/start`, {}, 300, 'POST', 'login=admin')).error).toBe('ETIMEDOUT');
      // the control API still answers: tests can read the truth of a hanging PBX
      expect((await rawGet(`${m.url}/__sim/stats`)).status).toBe(200);
    }
    // a test clearing its own faults does not end the state
    at(f, 0).sim?.faults.clear();
    expect((await v3Get(at(f, 0), PING, at(f, 0).apiKey, 300)).error).toBe('ETIMEDOUT');
    expect((await v3Get(at(f, 2), PING)).status).toBe(200);
  });

  it('a banned member answers every API request with the nginx 429', async () => {
    const f = await fleet({ count: 4, legacyEvery: 2, banned: [2, 3], rateLimit: undefined });
    for (const m of [at(f, 2), at(f, 3)]) {
      for (const path of [PING, STATUSES, '/pbxcore/api/sip/getPeersStatuses']) {
        const r = await v3Get(m, path);
        expect(r.status).toBe(429);
        expect(r.body).toBe('Too many requests\n');
      }
      expect(await legacyLogin(m)).toBeNull();
    }
    expect((await v3Get(at(f, 0), STATUSES)).status).toBe(200);
  });

  it('legacy members speak the legacy API, v3 members v3', async () => {
    const f = await fleet({ count: 4, legacyEvery: 2 });
    const [v3, legacy] = [at(f, 0), at(f, 1)];
    expect(legacy).toMatchObject({ mode: 'legacy', login: 'admin' });
    expect(legacy.apiKey).toBeUndefined();
    expect(v3.mode).toBe('v3');
    expect([v3.login, v3.password]).toEqual([undefined, undefined]);
    expect(legacy.sim?.mode).toBe('legacy');
    const probe = await v3Get(legacy, '/pbxcore/api/v3/system:ping');
    expect(probe.status).toBe(404);
    expect(JSON.parse(probe.body as string).errors).toEqual(['404 (Not Found)']);
    const sid = await legacyLogin(legacy);
    expect(sid).not.toBeNull();
    const peers = await rawGet(`${legacy.url}/pbxcore/api/sip/getPeersStatuses`, { Cookie: `PHPSESSID=${sid ?? ''}` });
    expect(peers.status).toBe(200);
    expect(JSON.parse(peers.body as string).result).toBe(true);
    expect((await v3Get(v3, '/pbxcore/api/v3/system:ping')).status).toBe(200);
  });

  it('distinct credentials open only their own member', async () => {
    const f = await fleet({ count: 4, legacyEvery: 2 });
    const [v3a, la, v3b, lb] = [at(f, 0), at(f, 1), at(f, 2), at(f, 3)];
    expect(v3a.apiKey).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set([v3a.apiKey, v3b.apiKey, DEFAULT_API_KEY]).size).toBe(3);
    expect(new Set([la.password, lb.password, DEFAULT_PASSWORD]).size).toBe(3);
    expect((await v3Get(v3a, STATUSES)).status).toBe(200);
    expect((await v3Get(v3b, STATUSES, v3a.apiKey)).status).toBe(401);
    expect((await v3Get(v3a, STATUSES, DEFAULT_API_KEY)).status).toBe(401);
    expect(await legacyLogin(lb)).not.toBeNull();
    expect(await legacyLogin(lb, la.password)).toBeNull();
    expect(await legacyLogin(lb, DEFAULT_PASSWORD)).toBeNull();
  });

  it('shared credentials: every member takes the simulator defaults', async () => {
    const f = await fleet({ count: 4, legacyEvery: 2, distinctCredentials: false });
    expect(f.distinctCredentials).toBe(false);
    for (const m of f.members) {
      if (m.mode === 'v3') {
        expect(m.apiKey).toBe(DEFAULT_API_KEY);
        expect((await v3Get(m, STATUSES)).status).toBe(200);
      } else {
        expect(m.password).toBe(DEFAULT_PASSWORD);
        expect(await legacyLogin(m)).not.toBeNull();
      }
    }
  });

  it('writes the targets file and the credential files the exporter reads', async () => {
    const f = await fleet({ count: 6, legacyEvery: 3, down: [3], hanging: [4], banned: [5] });
    const dir = await tmp();
    const out = await writeFleetTargetsFile(f, join(dir, 'fleet'));
    expect(out.path).toBe(join(dir, 'fleet', 'targets.yml'));
    const text = await readFile(out.path, 'utf8');
    expect(text).toContain(`  pbx-1-key: { api_key_file: ${join(dir, 'fleet', 'pbx-1.key')} }\n`);
    expect(text).toContain(`  pbx-3-login: { login: admin, password_file: ${join(dir, 'fleet', 'pbx-3.pw')} }\n`);
    const doc = parse(text);
    expect(Object.keys(doc)).toEqual(['auth_modules', 'targets']);
    expect(Object.keys(doc.auth_modules)).toEqual(['pbx-1-key', 'pbx-2-key', 'pbx-3-login', 'pbx-4-key', 'pbx-5-key', 'pbx-6-login']);
    expect(doc.targets).toHaveLength(6); // down, hanging and banned members are listed too
    for (const [i, t] of (doc.targets as any[]).entries()) {
      const m = at(f, i);
      expect(Object.keys(t)).toEqual(['name', 'url', 'auth', 'labels']);
      expect(t).toEqual({ name: m.name, url: m.url, auth: `${m.name}-${m.mode === 'v3' ? 'key' : 'login'}`, labels: m.labels });
      expect(Object.keys(t.labels)).toEqual(['customer', 'site']);
      const mod = doc.auth_modules[t.auth];
      const file: string = mod.api_key_file ?? mod.password_file;
      expect(await readFile(file, 'utf8')).toBe(m.mode === 'v3' ? m.apiKey : m.password);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      if (m.mode === 'legacy') expect(mod).toEqual({ login: 'admin', password_file: file });
      else expect(mod).toEqual({ api_key_file: file });
      expect(out.expectations[m.name]).toEqual({ state: m.state, mode: m.mode, url: m.url, auth: t.auth });
    }
    expect(out.expectations['pbx-4']?.state).toBe('down');
    expect(out.expectations['pbx-6']).toMatchObject({ state: 'banned', mode: 'legacy' });

    // a key read from its file opens its member
    const key = await readFile(doc.auth_modules['pbx-2-key'].api_key_file, 'utf8');
    expect((await v3Get(at(f, 1), STATUSES, key)).status).toBe(200);
  });

  it('targets file: api_version only when asked; shared credentials are two modules', async () => {
    const f = await fleet({ count: 3, legacyEvery: 3, distinctCredentials: false });
    const dir = await tmp();
    const out = await writeFleetTargetsFile(f, dir, { apiVersion: true, fileName: 'fleet.yaml' });
    const doc = parse(await readFile(out.path, 'utf8'));
    expect(doc.auth_modules).toEqual({
      'fleet-key': { api_key_file: join(dir, 'fleet.key') },
      'fleet-login': { login: 'admin', password_file: join(dir, 'fleet.pw') },
    });
    expect(await readFile(join(dir, 'fleet.key'), 'utf8')).toBe(DEFAULT_API_KEY);
    expect(await readFile(join(dir, 'fleet.pw'), 'utf8')).toBe(DEFAULT_PASSWORD);
    expect((doc.targets as any[]).map((t) => [t.auth, t.api_version])).toEqual([
      ['fleet-key', 'v3'],
      ['fleet-key', 'v3'],
      ['fleet-login', 'legacy'],
    ]);
  });

  it('setState: up ↔ hanging, up ↔ banned, hanging ↔ banned', async () => {
    const f = await fleet({ count: 2, rateLimit: undefined });
    const m = at(f, 0);
    await f.setState(m.name, 'hanging');
    expect(m.state).toBe('hanging');
    expect((await v3Get(m, STATUSES, m.apiKey, 300)).error).toBe('ETIMEDOUT');
    await f.setState(m.name, 'up');
    expect((await v3Get(m, STATUSES)).status).toBe(200);

    await f.setState(m.name, 'banned');
    expect((await v3Get(m, STATUSES)).status).toBe(429);
    expect(m.sim?.stats.rateLimited).toBeGreaterThan(0);
    await f.setState(m.name, 'hanging'); // the limiter's ban does not outlive the state
    expect((await v3Get(m, STATUSES, m.apiKey, 300)).error).toBe('ETIMEDOUT');
    await f.setState(m.name, 'banned');
    expect((await v3Get(m, STATUSES)).status).toBe(429);
    await f.setState(m.name, 'up');
    expect((await v3Get(m, STATUSES)).status).toBe(200);
    expect(f.member(m.name).state).toBe('up');
    expect((await v3Get(at(f, 1), STATUSES)).status).toBe(200);
    await expect(f.setState('pbx-9', 'up')).rejects.toThrow(/no fleet member/);
    await expect(f.setState(m.name, 'sideways' as never)).rejects.toThrow(/state must be/);
  });

  it('setState: an up member goes down and comes back with its data; a member started down comes up', async () => {
    const clock = manualClock(T0);
    const f = await fleet({ count: 3, down: [2], now: clock.now });
    const m = at(f, 0);
    const sim = m.sim;
    sim?.model.setExtensionStatus('202', 'Unknown');
    await f.setState(m.name, 'down');
    expect((await v3Get(m, PING)).error).toBe('ECONNREFUSED');
    expect(m.sim?.listening).toBe(false);
    await f.setState(m.name, 'up');
    expect(m.sim).toBe(sim);
    const r = JSON.parse((await v3Get(m, STATUSES)).body as string);
    expect(r.data['202'].status).toBe('Unknown');

    const late = at(f, 2);
    expect(late.sim).toBeNull();
    await f.setState(late.name, 'up');
    expect(late.sim?.port).toBe(late.port);
    expect((await v3Get(late, STATUSES)).status).toBe(200);
    expect((await v3Get(late, STATUSES, m.apiKey)).status).toBe(401);
    await f.setState(late.name, 'hanging');
    expect((await v3Get(late, STATUSES, late.apiKey, 300)).error).toBe('ETIMEDOUT');
    await f.setState(late.name, 'down');
    expect((await v3Get(late, PING)).error).toBe('ECONNREFUSED');
  });

  it('close() frees every port, hanging connections included', async () => {
    const f = await startSimFleet({ count: 4, hanging: [1], banned: [2], down: [3], historyCalls: 0 });
    const pending = v3Get(at(f, 1), STATUSES, at(f, 1).apiKey, 20_000);
    await new Promise((r) => setTimeout(r, 50));
    await f.close();
    expect((await pending).error).toBeDefined();
    for (const m of f.members) {
      expect(await tcpAccepts(m.port)).toBe(false);
      expect(await canListen(m.port)).toBe(true);
    }
  });

  it('--port semantics: members on consecutive ports from the first one', async () => {
    // a free run of ports below the usual ephemeral range; retried if another process holds one
    for (let attempt = 0; ; attempt++) {
      const base = 20_000 + Math.floor(Math.random() * 10_000);
      try {
        const f = await fleet({ count: 3, port: base, down: [1] });
        expect(f.members.map((m) => m.port)).toEqual([base, base + 1, base + 2]);
        expect(at(f, 2).url).toBe(`http://127.0.0.1:${base + 2}`);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
      }
    }
  });

  it('living members are ticked by one shared timer (fleet.tick() does the same by hand)', async () => {
    const clock = manualClock(T0);
    const f = await fleet({ count: 2, living: { tickMs: 60_000 }, now: clock.now, activeCalls: 2 });
    const before = f.members.map((m) => m.sim?.model.maxCdrId());
    // initial calls of a living member end by themselves (they would not without life)
    clock.advance(3_600_000);
    f.tick();
    f.members.forEach((m, i) => expect(m.sim?.model.maxCdrId()).toBeGreaterThan(before[i] as number));
  });

  it('starts 1000 members with 50 extensions and 5 trunks', { timeout: 120_000 }, async () => {
    const rss0 = process.memoryUsage().rss;
    const t = performance.now();
    const f = await fleet({ count: 1000, extensions: 50, providers: 5, legacyEvery: 10, down: 0.01, hanging: 0.01, banned: 0.01, historyCalls: undefined });
    const ms = performance.now() - t;
    const rss = process.memoryUsage().rss;
    expect(f.members.filter((m) => m.state === 'up')).toHaveLength(970);
    expect(new Set(f.members.map((m) => m.port)).size).toBe(1000);
    const up = f.members.filter((m) => m.state === 'up' && m.mode === 'v3');
    for (const m of [up[0], up.at(-1)] as SimFleetMember[]) expect(Object.keys(JSON.parse((await v3Get(m, STATUSES)).body as string).data)).toHaveLength(50);
    // informative only: CI machines are shared
    console.log(
      `fleet: 1000 members started in ${(ms / 1000).toFixed(2)} s, RSS ${(rss / 2 ** 20).toFixed(0)} MB (+${((rss - rss0) / 2 ** 20).toFixed(0)} MB)`,
    );
  });
});
