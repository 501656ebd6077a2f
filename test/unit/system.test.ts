import nock from 'nock';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAdviceList, parseBannedIps, parseDatetime, parseStorageUsage } from '../../src/api/v3-health-parse.js';
import { PbxTarget } from '../../src/target.js';
import { sample } from '../helpers/exposition.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';

const MIB = 1024 * 1024;
const envelope = (data: unknown) => JSON.stringify({ result: true, data, messages: { error: [], info: [], warning: [] } });

const USAGE = {
  total_size: 51200.0,
  used_space: 10240.5,
  free_space: 40959.5,
  usage_percentage: 20.0,
  categories: {
    call_recordings: { size: 6000.4, percentage: 11.7, paths: ['/storage/usbdisk1/mikopbx/astspool/monitor'] },
    cdr_database: { size: 120.1, percentage: 0.2, paths: [] },
    'Bad Name 203.0.113.7': { size: 1, percentage: 0, paths: [] },
    other: { size: -12.5, percentage: 0, paths: [] },
  },
  remote_storage: { s3: { enabled: true, size: 2048, files_count: 10, bucket: 'b', endpoint: 'e' } },
};
const ADVICE = {
  advice: {
    error: [{ messageTpl: 'adv_StorageDiskRunningOutOfFreeSpace', messageParams: { free: 420 } }],
    warning: [
      { messageTpl: 'adv_FirewallDisabled', messageParams: {} },
      { messageTpl: 'adv_ModuleSomethingNew', messageParams: {} },
      { messageTpl: 'Disk is <b>full</b> on 203.0.113.7', messageParams: {} },
    ],
    info: [{ messageTpl: 'adv_AvailableNewVersionPBX', messageParams: { url: 'https://x', ver: '2026.2.118' } }],
    needUpdate: ['WebAdminPassword'],
  },
};
const BANS = {
  '203.0.113.7': {
    country: 'NL',
    countryName: 'Netherlands',
    bans: [
      { jail: 'asterisk_security_log_v2', timeofban: 1, timeunban: 2, v: '2' },
      { jail: 'asterisk_security_log_v2', timeofban: 1, timeunban: 2, v: '2' },
      { jail: 'mikopbx-www_v2', timeofban: 1, timeunban: 2, v: '2' },
    ],
  },
  '198.51.100.9': { country: '', countryName: '', bans: [{ jail: 'asterisk_security_log_v2', timeofban: 1, timeunban: 2, v: '2' }] },
  '192.0.2.1': { bans: [{ jail: 'module_custom_v2', timeofban: 1, timeunban: 2, v: '2' }] },
};

describe('v3 health answers, parsed at the edge', () => {
  it('storage:usage: MB to bytes, unsafe category names dropped, S3 where reported', () => {
    const u = parseStorageUsage(USAGE);
    expect(u?.sizeBytes).toBe(51200 * MIB);
    expect(u?.usedBytes).toBe(Math.round(10240.5 * MIB));
    expect(u?.freeBytes).toBe(Math.round(40959.5 * MIB));
    expect([...(u?.categories.keys() ?? [])]).toEqual(['call_recordings', 'cdr_database', 'other']);
    expect(u?.categories.get('other')).toBe(Math.round(-12.5 * MIB));
    expect(u?.s3).toEqual({ enabled: true, bytes: 2048 * MIB });
  });

  it('storage:usage: the pending placeholder is nothing (not zeros), and remote_storage may be missing', () => {
    expect(parseStorageUsage({ pending: true, total_size: 0, used_space: 0, free_space: 0, usage_percentage: 0, categories: [] })).toBeNull();
    const { remote_storage: _, ...withoutRemote } = USAGE;
    expect(parseStorageUsage({ ...withoutRemote, categories: [] })?.s3).toBeNull();
    expect(() => parseStorageUsage({ total_size: 'lots' })).toThrow(/data.total_size/);
  });

  it('advice:getList: by level and template; free text never becomes a label; the offered version', () => {
    expect(parseAdviceList({ advice: [] })).toEqual({ entries: [], updateVersion: null });
    const a = parseAdviceList(ADVICE);
    expect(a.entries).toEqual([
      { level: 'error', template: 'adv_StorageDiskRunningOutOfFreeSpace' },
      { level: 'warning', template: 'adv_FirewallDisabled' },
      { level: 'warning', template: 'adv_ModuleSomethingNew' },
      { level: 'warning', template: 'other' },
      { level: 'info', template: 'adv_AvailableNewVersionPBX' },
    ]);
    expect(a.updateVersion).toBe('2026.2.118');
    expect(parseAdviceList({ advice: { info: [{ messageTpl: 'adv_AvailableNewVersionPBX', messageParams: { ver: '<script>' } }] } }).updateVersion).toBe(
      'unknown',
    );
    expect(() => parseAdviceList({ advice: { error: [{ messageParams: {} }] } })).toThrow(/data.advice.error\[0\].messageTpl/);
  });

  it('firewall:getBannedIps: counted per jail without _v2, one per IP and jail, [] when empty', () => {
    expect(parseBannedIps([])).toEqual(new Map());
    const bans = parseBannedIps(BANS);
    expect(Object.fromEntries(bans)).toEqual({ asterisk_security_log: 2, 'mikopbx-www': 1, module_custom: 1 });
    expect(JSON.stringify([...bans])).not.toContain('203.0.113.7');
  });

  it('system:datetime: Unix seconds', () => {
    expect(parseDatetime({ timestamp: 1760000000 })).toBe(1760000000);
    expect(parseDatetime({ timestamp: '1760000000' })).toBe(1760000000);
    expect(() => parseDatetime({ timestamp: 0 })).toThrow(/data.timestamp/);
    expect(() => parseDatetime({})).toThrow(/data.timestamp/);
  });
});

const PBX = 'http://pbx.test';

function healthPbx(opts: { firewall?: number; datetime?: number } = {}) {
  const sent: string[] = [];
  nock(PBX)
    .get(/.*/)
    .reply((req: unknown) => {
      const path = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX).pathname;
      sent.push(path);
      switch (path) {
        case '/pbxcore/api/v3/system:ping':
          return [200, fixture('v3/ping.json')];
        case '/pbxcore/api/v3/sip:getStatuses':
          return [200, fixture('v3/sip-getStatuses.json')];
        case '/pbxcore/api/v3/sip-providers:getStatuses':
          return [200, fixture('v3/providers-getStatuses.json')];
        case '/pbxcore/api/v3/pbx-status:getActiveChannels':
          return [200, fixture('v3/active-channels.json')];
        case '/pbxcore/api/v3/storage:usage':
          return [200, envelope(USAGE)];
        case '/pbxcore/api/v3/advice:getList':
          return [200, envelope(ADVICE)];
        case '/pbxcore/api/v3/firewall:getBannedIps':
          return opts.firewall ? [opts.firewall, envelope([])] : [200, envelope(BANS)];
        case '/pbxcore/api/v3/system:datetime':
          return [200, envelope({ timestamp: opts.datetime ?? 0 })];
        default:
          return [404, '{}'];
      }
    })
    .persist();
  return sent;
}

describe('system collector in a target', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('exports disk, advice, bans per jail and clock skew, with every fixed label value', async () => {
    const t = Date.UTC(2026, 3, 10, 11, 0, 0);
    const sent = healthPbx({ datetime: t / 1000 + 42 });
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['system'] }), logger, now: () => t });
    await target.runSystemPoll();
    const text = target.metricsText();
    expect(sent.filter((p) => !p.endsWith('system:ping'))).toEqual([
      '/pbxcore/api/v3/storage:usage',
      '/pbxcore/api/v3/advice:getList',
      '/pbxcore/api/v3/firewall:getBannedIps',
      '/pbxcore/api/v3/system:datetime',
    ]);
    expect(sample(text, 'mikopbx_collector_success{collector="system"}')).toBe(1);
    expect(sample(text, 'mikopbx_storage_size_bytes')).toBe(51200 * MIB);
    expect(sample(text, 'mikopbx_storage_free_bytes')).toBe(Math.round(40959.5 * MIB));
    expect(sample(text, 'mikopbx_storage_category_bytes{category="call_recordings"}')).toBe(Math.round(6000.4 * MIB));
    expect(sample(text, 'mikopbx_storage_category_bytes{category="backups"}')).toBe(0); // fixed set, always there
    expect(sample(text, 'mikopbx_storage_s3_enabled')).toBe(1);
    expect(sample(text, 'mikopbx_advice{level="error",template="adv_StorageDiskRunningOutOfFreeSpace"}')).toBe(1);
    expect(sample(text, 'mikopbx_advice{level="error",template="adv_YouUseDefaultWebPassword"}')).toBe(0);
    expect(sample(text, 'mikopbx_advice{level="warning",template="other"}')).toBe(1);
    expect(sample(text, 'mikopbx_advice_update_available')).toBe(1);
    expect(sample(text, 'mikopbx_advice_update_info{version="2026.2.118"}')).toBe(1);
    expect(sample(text, 'mikopbx_banned_ips{jail="asterisk_security_log"}')).toBe(2);
    expect(sample(text, 'mikopbx_banned_ips{jail="dropbear"}')).toBe(0);
    expect(sample(text, 'mikopbx_banned_ips{jail="module_custom"}')).toBe(1);
    expect(sample(text, 'mikopbx_clock_skew_seconds')).toBe(42.5); // whole seconds from the PBX: +0.5
    expect(text).not.toContain('203.0.113.7');
    expect(text).toMatch(/# HELP mikopbx_banned_ips .*Refreshed every 300 seconds\./);
    expect(sample(text, 'mikopbx_collector_interval_seconds{collector="system"}')).toBe(300);
    expect(target.intervalSeconds('system')).toBe(target.configuredIntervalSeconds('system')); // the landing page shows no stretch
    target.close();
  });

  it('a key without /api/v3/firewall fails only the system collector; its other parts and the status collectors stand', async () => {
    healthPbx({ firewall: 401, datetime: Math.floor(Date.now() / 1000) });
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['peers', 'providers', 'calls', 'system'] }), logger });
    await target.runStatusPoll();
    await target.runSystemPoll();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="system"}')).toBe(0);
    expect(target.results.get('system')?.error).toContain('firewall:getBannedIps');
    expect(sample(text, 'mikopbx_up')).toBe(1);
    for (const c of ['peers', 'providers', 'calls']) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
    expect(sample(text, 'mikopbx_storage_size_bytes')).toBe(51200 * MIB);
    expect(sample(text, 'mikopbx_advice_update_available')).toBe(1);
    expect(sample(text, 'mikopbx_banned_ips{jail="asterisk_security_log"}')).toBe(0); // never read: the zeros of the fixed set
    expect(Math.abs(sample(text, 'mikopbx_clock_skew_seconds') as number)).toBeLessThan(2); // read after the refused part
    target.close();
  });

  it('a pending disk measurement exports no storage series; a later one does', async () => {
    const { SystemCollector } = await import('../../src/collectors/system.js');
    const registry = new Registry();
    const c = new SystemCollector(registry, 300);
    c.applyStorage(parseStorageUsage(USAGE));
    c.applyStorage(null);
    expect(await registry.metrics()).not.toMatch(/^mikopbx_storage_/m);
    c.applyStorage(parseStorageUsage(USAGE));
    expect(await registry.metrics()).toMatch(/^mikopbx_storage_size_bytes 53687091200$/m);
  });

  it('legacy: not started, said once, nothing exported, /readyz does not wait for it', async () => {
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({
      config: testConfig({ apiVersion: 'legacy', apiKey: undefined, login: 'admin', password: 'x', collectors: ['system'] }),
      logger,
    });
    await target.render();
    expect(target.metricsText()).not.toMatch(/mikopbx_storage_|mikopbx_banned_ips|collector="system"/);
    expect(lines.filter((l) => l.includes('system collector not started'))).toHaveLength(1);
    expect(target.isReady()).toBe(true);
    target.close();
  });
});

describe('system collector on an older v3 build', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('an endpoint the build does not have (404) drops only its series, is said once, and is no failure', async () => {
    healthPbx({ firewall: 404, datetime: Math.floor(Date.now() / 1000) });
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ collectors: ['system'] }), logger });
    await target.runSystemPoll();
    await target.runSystemPoll();
    const text = target.metricsText();
    expect(sample(text, 'mikopbx_collector_success{collector="system"}')).toBe(1);
    expect(text).not.toMatch(/^mikopbx_banned_ips/m);
    expect(sample(text, 'mikopbx_storage_size_bytes')).toBe(51200 * MIB);
    expect(sample(text, 'mikopbx_advice_update_available')).toBe(1);
    expect(lines.filter((l) => l.includes('has no /pbxcore/api/v3/firewall:getBannedIps endpoint'))).toHaveLength(1);
    target.close();
  });
});
