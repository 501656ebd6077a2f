/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { JAILS } from '../../sim/index.js';
import { AUTH, getJson, getRaw, manualClock, simsClosedAfterEach, T0 } from './helpers.js';

const V3 = '/pbxcore/api/v3/';
const MB = 1024 * 1024;
const start = simsClosedAfterEach();

async function control(sim: Simulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.url}/__sim/${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('storage:usage', () => {
  it('has a 50 GiB disk about 20 % used, categories sorted by size, other = used − the rest, no S3', async () => {
    const sim = await start({ now: manualClock().now });
    const r = await getJson(sim, `${V3}storage:usage`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ result: true, function: 'usage', processor: 'MikoPBX\\PBXCoreREST\\Lib\\Storage\\GetUsageAction::main' });
    const d = r.json.data;
    expect(Object.keys(d)).toEqual(['total_size', 'used_space', 'free_space', 'usage_percentage', 'categories', 'remote_storage']);
    expect(d.total_size).toBe(51200);
    expect(d.usage_percentage).toBeGreaterThan(17);
    expect(d.usage_percentage).toBeLessThan(23);
    expect(d.free_space).toBeCloseTo(d.total_size - d.used_space, 6);
    expect(d.usage_percentage).toBe(Math.round((d.used_space / d.total_size) * 1000) / 10);
    const names = Object.keys(d.categories);
    expect([...names].sort()).toEqual(['backups', 'call_recordings', 'cdr_database', 'modules', 'other', 's3_cache', 'system_caches', 'system_logs']);
    const sizes = names.map((n) => d.categories[n].size as number);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(sizes.filter((s) => s > 0).length).toBeGreaterThanOrEqual(2);
    for (const n of names) {
      const c = d.categories[n];
      expect(Object.keys(c)).toEqual(['size', 'percentage', 'paths']);
      expect(Math.abs(c.percentage - (c.size / d.total_size) * 100)).toBeLessThanOrEqual(0.06);
      expect(Array.isArray(c.paths)).toBe(true);
      expect(Math.abs(c.size * 10 - Math.round(c.size * 10))).toBeLessThan(1e-6);
    }
    expect(d.categories.call_recordings.paths).toContain('/storage/usbdisk1/mikopbx/astspool/monitor');
    const sumOthers = names.filter((n) => n !== 'other').reduce((s, n) => s + (d.categories[n].size as number), 0);
    expect(d.categories.other.size).toBeCloseTo(d.used_space - sumOthers, 0);
    expect(d.remote_storage).toEqual({ s3: { enabled: false, size: 0, files_count: 0, bucket: '', endpoint: '' } });
    expect(r.text).toContain('"paths":["\\/storage\\/usbdisk1\\/mikopbx\\/astspool\\/monitor"');
  });

  it('is deterministic per seed', async () => {
    const a = await start({ seed: 7 });
    const b = await start({ seed: 7 });
    const c = await start({ seed: 8 });
    const used = async (s: Simulator): Promise<number> => (await getJson(s, `${V3}storage:usage`)).json.data.used_space;
    expect(await used(a)).toBe(await used(b));
    expect(await used(a)).not.toBe(await used(c));
  });

  it('follows setDiskUsage, fillMb, setCategory and S3, and the truth is in bytes', async () => {
    const sim = await start();
    const h = sim.model.health;
    h.setDiskUsage(51200, 10240.5);
    h.setCategory('call_recordings', 4000);
    h.setCategory('cdr_database', 50.04);
    h.setCategory('system_logs', 300);
    let d = (await getJson(sim, `${V3}storage:usage`)).json.data;
    expect(d).toMatchObject({ total_size: 51200, used_space: 10240.5, free_space: 40959.5, usage_percentage: 20 });
    expect(Object.keys(d.categories).slice(0, 4)).toEqual(['other', 'call_recordings', 'system_logs', 'cdr_database']);
    expect(d.categories.other).toMatchObject({ size: 5890.5, percentage: 11.5 });
    expect(d.categories.cdr_database).toMatchObject({ size: 50, percentage: 0.1 });

    expect(h.fillMb(1000)).toBe(1000);
    d = (await getJson(sim, `${V3}storage:usage`)).json.data;
    expect(d).toMatchObject({ used_space: 11240.5, free_space: 39959.5, usage_percentage: 22 });
    expect(d.categories.call_recordings.size).toBe(5000);
    expect(d.categories.other.size).toBe(5890.5);

    // categories bigger than used: other goes negative and sorts last
    h.setCategory('backups', 9000);
    d = (await getJson(sim, `${V3}storage:usage`)).json.data;
    expect(d.categories.other.size).toBe(-3109.5);
    expect(Object.keys(d.categories).at(-1)).toBe('other');
    expect(d.categories.other.percentage).toBe(-6.1);

    // fill beyond the disk: stops at full
    expect(h.fillMb(1e9)).toBe(39959.5);
    d = (await getJson(sim, `${V3}storage:usage`)).json.data;
    expect(d).toMatchObject({ used_space: 51200, free_space: 0, usage_percentage: 100 });

    h.setDiskUsage(102400, 51200);
    h.enableS3(2048.25, { filesCount: 812, bucket: 'rec', endpoint: 'https://s3.example.net' });
    d = (await getJson(sim, `${V3}storage:usage`)).json.data;
    expect(d.remote_storage.s3).toEqual({ enabled: true, size: 2048.3, files_count: 812, bucket: 'rec', endpoint: 'https://s3.example.net' });

    const t = sim.model.healthTruth();
    expect(t.storage).toMatchObject({
      pending: false,
      totalBytes: 102400 * MB,
      usedBytes: 51200 * MB,
      freeBytes: 51200 * MB,
      usagePercent: 50,
      s3: { enabled: true, bytes: 2048.3 * MB, files: 812 },
    });
    expect(t.storage.categories.call_recordings).toBe(44959.5 * MB);
    expect(t.storage.categories.other).toBeCloseTo(-3109.5 * MB, 0);
    expect(Object.keys(t.storage.categories)).toHaveLength(8);
    h.disableS3();
    expect((await getJson(sim, `${V3}storage:usage`)).json.data.remote_storage.s3.enabled).toBe(false);
    expect(() => h.setDiskUsage(100, 200)).toThrow();
  });

  it('pending: zeros, categories [], no remote_storage; the truth has no disk values', async () => {
    const sim = await start();
    sim.model.health.setStoragePending(true);
    const r = await getJson(sim, `${V3}storage:usage`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({ pending: true, total_size: 0, used_space: 0, free_space: 0, usage_percentage: 0, categories: [] });
    expect(r.text).not.toContain('remote_storage');
    expect(sim.model.healthTruth().storage).toEqual({
      pending: true,
      totalBytes: null,
      usedBytes: null,
      freeBytes: null,
      usagePercent: null,
      categories: {},
      s3: null,
    });
    sim.model.health.setStoragePending(false);
    const after = await getJson(sim, `${V3}storage:usage`);
    expect(after.json.data.pending).toBeUndefined();
    expect(after.json.data.remote_storage).toBeDefined();
  });
});

describe('advice:getList', () => {
  it('is the PHP empty array when there is no advice', async () => {
    const sim = await start();
    const r = await getJson(sim, `${V3}advice:getList`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({ advice: [] });
    expect(r.text).toContain('"data":{"advice":[]}');
    expect(sim.model.healthTruth()).toMatchObject({
      adviceByLevel: { error: 0, warning: 0, info: 0 },
      advice: { error: {}, warning: {}, info: {} },
      needUpdate: [],
    });
  });

  it('groups entries by level, omits empty levels, lists needUpdate markers', async () => {
    const sim = await start();
    const h = sim.model.health;
    h.addAdvice('error', 'adv_StorageDiskRunningOutOfFreeSpace', { free: 420 });
    h.addAdvice('info', 'adv_AvailableNewVersionPBX', {
      url: 'https://releases.mikopbx.com/releases/v2026.2.118/mikopbx-2026.2.118-x86_64.img',
      ver: '2026.2.118',
    });
    h.addAdvice('info', 'adv_AvailableNewVersionModule', { module: 'ModuleUsersUI', ver: '1.5', currentVer: '1.4' });
    h.addAdvice('info', 'adv_AvailableNewVersionModule', { module: 'ModuleBackup', ver: '2.1', currentVer: '2.0' });
    h.setNeedUpdate(['WebAdminPassword']);
    const r = await getJson(sim, `${V3}advice:getList`);
    expect(r.json.data).toEqual({
      advice: {
        error: [{ messageTpl: 'adv_StorageDiskRunningOutOfFreeSpace', messageParams: { free: 420 } }],
        info: [
          {
            messageTpl: 'adv_AvailableNewVersionPBX',
            messageParams: { url: 'https://releases.mikopbx.com/releases/v2026.2.118/mikopbx-2026.2.118-x86_64.img', ver: '2026.2.118' },
          },
          { messageTpl: 'adv_AvailableNewVersionModule', messageParams: { module: 'ModuleUsersUI', ver: '1.5', currentVer: '1.4' } },
          { messageTpl: 'adv_AvailableNewVersionModule', messageParams: { module: 'ModuleBackup', ver: '2.1', currentVer: '2.0' } },
        ],
        needUpdate: ['WebAdminPassword'],
      },
    });
    expect(Object.keys(r.json.data.advice)).toEqual(['error', 'info', 'needUpdate']);
    expect(sim.model.healthTruth()).toMatchObject({
      adviceByLevel: { error: 1, warning: 0, info: 3 },
      advice: { error: { adv_StorageDiskRunningOutOfFreeSpace: 1 }, warning: {}, info: { adv_AvailableNewVersionPBX: 1, adv_AvailableNewVersionModule: 2 } },
      needUpdate: ['WebAdminPassword'],
    });

    expect(h.removeAdvice('adv_AvailableNewVersionModule', 'info')).toBe(2);
    expect(h.removeAdvice('adv_StorageDiskRunningOutOfFreeSpace')).toBe(1);
    h.removeAdvice('adv_AvailableNewVersionPBX');
    expect((await getJson(sim, `${V3}advice:getList`)).json.data).toEqual({ advice: { needUpdate: ['WebAdminPassword'] } });
    h.setNeedUpdate([]);
    h.addAdvice('warning', 'adv_FirewallDisabled');
    expect((await getJson(sim, `${V3}advice:getList`)).json.data).toEqual({ advice: { warning: [{ messageTpl: 'adv_FirewallDisabled', messageParams: [] }] } });
    h.clearAdvice();
    expect((await getJson(sim, `${V3}advice:getList`)).json.data).toEqual({ advice: [] });
  });
});

describe('firewall:getBannedIps', () => {
  it('is [] without bans, a map keyed by IP with _v2 jails while bans last', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const h = sim.model.health;
    const empty = await getJson(sim, `${V3}firewall:getBannedIps`);
    expect(empty.status).toBe(200);
    expect(empty.json.data).toEqual([]);
    expect(empty.text).toContain('"data":[]');

    const now = Math.floor(T0 / 1000);
    h.banIp('203.0.113.7', 'asterisk_security_log', { since: now - 60, until: now + 600, country: 'NL', countryName: 'Netherlands' });
    h.banIp('203.0.113.7', 'asterisk_public_v2', { until: now + 60 });
    h.banIp('198.51.100.23', 'dropbear', { until: now + 3600 });
    h.banIp('192.0.2.1', 'mikopbx-www', { since: now - 1200, until: now - 600 }); // already over
    const r = await getJson(sim, `${V3}firewall:getBannedIps`);
    expect(Object.keys(r.json.data)).toEqual(['203.0.113.7', '198.51.100.23']);
    expect(r.json.data['203.0.113.7']).toEqual({
      country: 'NL',
      countryName: 'Netherlands',
      bans: [
        { jail: 'asterisk_security_log_v2', timeofban: now - 60, timeunban: now + 600, v: '2' },
        { jail: 'asterisk_public_v2', timeofban: now, timeunban: now + 60, v: '2' },
      ],
    });
    const other = r.json.data['198.51.100.23'];
    expect(other.country).toMatch(/^[A-Z]{2}$/);
    expect(other.countryName.length).toBeGreaterThan(2);
    expect(other.bans).toEqual([{ jail: 'dropbear_v2', timeofban: now, timeunban: now + 3600, v: '2' }]);

    const t = sim.model.healthTruth();
    expect(Object.keys(t.bansByJail).sort()).toEqual([...JAILS].sort());
    expect(t).toMatchObject({
      bansByJail: { asterisk_security_log: 1, asterisk_public: 1, dropbear: 1, 'mikopbx-www': 0, asterisk_error: 0, asterisk_ami: 0, asterisk_iax: 0 },
      bansTotal: 3,
      bannedIps: 2,
    });

    // the sim clock runs: bans end at timeunban
    clock.advance(60_000 - 250);
    const later = await getJson(sim, `${V3}firewall:getBannedIps`);
    expect(later.json.data['203.0.113.7'].bans.map((b: any) => b.jail)).toEqual(['asterisk_security_log_v2']);
    expect(sim.model.healthTruth()).toMatchObject({ bansTotal: 2, bansByJail: { asterisk_public: 0 } });
    clock.advance(3600_000);
    expect((await getJson(sim, `${V3}firewall:getBannedIps`)).json.data).toEqual([]);
    expect(sim.model.healthTruth()).toMatchObject({ bansTotal: 0, bannedIps: 0, bansByJail: { dropbear: 0 } });

    // default ban: 600 s from now; unban lifts it
    h.banIp('203.0.113.9', 'asterisk_ami');
    const nowNext = Math.floor(clock.now() / 1000);
    expect((await getJson(sim, `${V3}firewall:getBannedIps`)).json.data['203.0.113.9'].bans).toEqual([
      { jail: 'asterisk_ami_v2', timeofban: nowNext, timeunban: nowNext + 600, v: '2' },
    ]);
    expect(h.unbanIp('203.0.113.9', 'asterisk_ami_v2')).toBe(1);
    expect((await getJson(sim, `${V3}firewall:getBannedIps`)).json.data).toEqual([]);
  });

  it('has no localhost bypass (BEARER_TOKEN only)', async () => {
    const sim = await start({ localhostBypass: true });
    expect((await getRaw(sim, `${V3}storage:usage`)).status).toBe(200);
    expect((await getRaw(sim, `${V3}firewall:getBannedIps`)).status).toBe(401);
  });
});

describe('system:datetime', () => {
  it('is the sim clock plus the skew', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const base = Math.floor(T0 / 1000);
    expect((await getJson(sim, `${V3}system:datetime`)).json.data).toEqual({ timestamp: base });
    sim.model.health.setClockSkew(-42);
    expect((await getJson(sim, `${V3}system:datetime`)).json.data).toEqual({ timestamp: base - 42 });
    clock.advance(10_000);
    expect((await getJson(sim, `${V3}system:datetime`)).json.data).toEqual({ timestamp: base + 10 - 42 });
    sim.model.health.setClockSkew(3600);
    expect((await getJson(sim, `${V3}system:datetime`)).json.data).toEqual({ timestamp: base + 10 + 3600 });
    expect(sim.model.healthTruth().clockSkewSeconds).toBe(3600);
    // the envelope's meta stays on the sim clock
    expect((await getJson(sim, `${V3}system:datetime`)).json.meta.timestamp).toBe('2026-04-10T14:22:41+03:00');
  });
});

describe('auth, legacy mode, faults and the request log', () => {
  const PATHS = ['storage:usage', 'advice:getList', 'firewall:getBannedIps', 'system:datetime'];

  it('needs the Bearer key on every endpoint', async () => {
    const sim = await start();
    for (const p of PATHS) {
      const r = await getRaw(sim, `${V3}${p}`);
      expect(r.status, p).toBe(401);
      expect(JSON.parse(r.text).messages).toEqual({ error: ["The user isn't authenticated."] });
      expect((await getRaw(sim, `${V3}${p}`, { headers: { Authorization: 'Bearer 00' } })).status, p).toBe(401);
      expect((await getRaw(sim, `${V3}${p}`, { headers: AUTH })).status, p).toBe(200);
      expect((await getRaw(sim, `${V3}${p}`, { method: 'POST', headers: AUTH })).status, p).toBe(405);
    }
    expect(sim.stats.unauthenticatedRequests).toBe(8);
    expect(sim.requests.filter((e) => e.path === `${V3}storage:usage`).map((e) => [e.status, e.authorized])).toEqual([
      [401, false],
      [401, false],
      [200, true],
      [405, true],
    ]);
  });

  it('do not exist in legacy mode', async () => {
    const sim = await start({ mode: 'legacy' });
    for (const p of PATHS) {
      const r = await getRaw(sim, `${V3}${p}`, { headers: AUTH });
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.text)).toMatchObject({ errors: ['404 (Not Found)'] });
    }
    sim.setMode('v3');
    expect((await getRaw(sim, `${V3}storage:usage`, { headers: AUTH })).status).toBe(200);
  });

  it('take faults like every v3 route', async () => {
    const sim = await start();
    sim.faults.set({ kind: 'http-500', paths: [`${V3}storage:usage`], count: 1 });
    expect((await getRaw(sim, `${V3}storage:usage`, { headers: AUTH })).status).toBe(500);
    expect((await getRaw(sim, `${V3}storage:usage`, { headers: AUTH })).status).toBe(200);
    sim.faults.set({ kind: 'wrong-shape', paths: [`${V3}firewall:getBannedIps`], data: 'oops', count: 1 });
    expect((await getJson(sim, `${V3}firewall:getBannedIps`)).json.data).toBe('oops');
  });
});

describe('forbidden calls', () => {
  it('are answered 200 with empty data and counted, whatever the verb, auth or mode', async () => {
    const sim = await start();
    expect(sim.stats.forbiddenCalls).toBe(0);
    const calls: [string, string][] = [
      ['GET', 'storage:list'],
      ['GET', 'storage'],
      ['GET', 'advice:refresh'],
      ['POST', 'advice:refresh'],
      ['GET', 'license:resetKey'],
    ];
    for (const [method, p] of calls) {
      const r = await getJson(sim, `${V3}${p}`, { method });
      expect(r.status, p).toBe(200);
      expect(r.json).toMatchObject({ result: true, data: [] });
    }
    expect(sim.stats.forbiddenCalls).toBe(5);
    expect((await getRaw(sim, `${V3}license:resetKey`)).status).toBe(401);
    expect(sim.stats.forbiddenCalls).toBe(6);
    // not forbidden
    await getJson(sim, `${V3}storage:usage`);
    await getJson(sim, `${V3}advice:getList`);
    await getJson(sim, `${V3}license:getLicenseInfo`);
    expect(sim.stats.forbiddenCalls).toBe(6);
    sim.setMode('legacy');
    expect((await getRaw(sim, `${V3}storage:list`, { headers: AUTH })).status).toBe(404);
    expect(sim.stats.forbiddenCalls).toBe(7);
    expect((await control(sim, 'GET', 'stats')).json.forbiddenCalls).toBe(7);
  });
});

describe('control API', () => {
  it('drives the health state over /__sim/health', async () => {
    const clock = manualClock();
    const sim = await start({ now: clock.now });
    const now = Math.floor(T0 / 1000);
    expect((await control(sim, 'POST', 'health/disk', { totalMb: 1000, usedMb: 250 })).status).toBe(200);
    expect((await control(sim, 'POST', 'health/disk', { fillMb: 100 })).json).toEqual({ movedMb: 100 });
    await control(sim, 'POST', 'health/s3', { sizeMb: 10 });
    await control(sim, 'POST', 'health/advice', { level: 'warning', messageTpl: 'adv_FirewallDisabled', messageParams: {} });
    await control(sim, 'POST', 'health/needUpdate', { markers: ['SSHPassword'] });
    await control(sim, 'POST', 'health/ban', { ip: '203.0.113.7', jail: 'asterisk_iax', until: now + 30 });
    await control(sim, 'POST', 'health/skew', { seconds: 5 });
    let t = (await control(sim, 'GET', 'health')).json;
    expect(t).toMatchObject({
      storage: { pending: false, totalBytes: 1000 * MB, usedBytes: 350 * MB, usagePercent: 35, s3: { enabled: true, bytes: 10 * MB } },
      adviceByLevel: { warning: 1 },
      needUpdate: ['SSHPassword'],
      bansByJail: { asterisk_iax: 1 },
      clockSkewSeconds: 5,
    });
    await control(sim, 'POST', 'health/pending', { pending: true });
    expect((await control(sim, 'DELETE', 'health/ban', { ip: '203.0.113.7' })).json).toEqual({ removed: 1 });
    expect((await control(sim, 'DELETE', 'health/advice', { messageTpl: 'adv_FirewallDisabled' })).json).toEqual({ removed: 1 });
    t = (await control(sim, 'GET', 'health')).json;
    expect(t).toMatchObject({ storage: { pending: true, totalBytes: null }, bansTotal: 0, adviceByLevel: { warning: 0 } });
    expect((await control(sim, 'POST', 'health/disk', { totalMb: 1, usedMb: 2 })).status).toBe(400);
    expect((await control(sim, 'POST', 'health/nope', {})).status).toBe(404);
  });
});
