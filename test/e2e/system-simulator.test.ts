import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { PbxTarget } from '../../src/target.js';
import { sample } from '../helpers/exposition.js';
import { captureLogger, testConfig } from '../helpers/fixtures.js';

// The system collector against the simulator's health endpoints: what it exports equals the
// simulator's own ground truth, as the PBX changes, and it never calls an endpoint that runs df,
// mounts partitions or clears caches.

describe('system collector against the simulator', () => {
  let sim: Simulator | null = null;
  let target: PbxTarget | null = null;
  afterEach(async () => {
    target?.close();
    await sim?.close();
    sim = null;
    target = null;
  });

  async function setup() {
    const s = await startSimulator({ seed: 3 });
    sim = s;
    const { logger } = await captureLogger('silent');
    const t = new PbxTarget({ config: testConfig({ url: s.url, apiKey: s.apiKey, collectors: ['system'] }), logger });
    target = t;
    return { s, t };
  }

  function expectTruth(s: Simulator, text: string): void {
    const truth = s.model.healthTruth();
    if (truth.storage.pending) {
      expect(text).not.toMatch(/^mikopbx_storage_/m);
    } else {
      expect(sample(text, 'mikopbx_storage_size_bytes')).toBeCloseTo(truth.storage.totalBytes as number, -1);
      expect(sample(text, 'mikopbx_storage_used_bytes')).toBeCloseTo(truth.storage.usedBytes as number, -1);
      expect(sample(text, 'mikopbx_storage_free_bytes')).toBeCloseTo(truth.storage.freeBytes as number, -1);
      for (const [category, bytes] of Object.entries(truth.storage.categories)) {
        expect(sample(text, `mikopbx_storage_category_bytes{category="${category}"}`), category).toBeCloseTo(bytes as number, -1);
      }
    }
    for (const [jail, n] of Object.entries(truth.bansByJail)) expect(sample(text, `mikopbx_banned_ips{jail="${jail}"}`), jail).toBe(n);
    for (const [level, templates] of Object.entries(truth.advice)) {
      for (const [template, n] of Object.entries(templates)) expect(sample(text, `mikopbx_advice{level="${level}",template="${template}"}`)).toBe(n);
    }
    expect(Math.abs((sample(text, 'mikopbx_clock_skew_seconds') as number) - truth.clockSkewSeconds)).toBeLessThanOrEqual(1);
  }

  it('equals the truth as the disk fills, advice appears, IPs are banned and the clock drifts', async () => {
    const { s, t } = await setup();
    await t.runSystemPoll();
    expect(t.results.get('system')?.success).toBe(true);
    expectTruth(s, t.metricsText());

    s.model.health.fillMb(20_000);
    s.model.health.addAdvice('error', 'adv_StorageDiskRunningOutOfFreeSpace', { free: 420 });
    s.model.health.addAdvice('warning', 'adv_FirewallDisabled');
    s.model.health.banIp('203.0.113.7', 'asterisk_security_log');
    s.model.health.banIp('203.0.113.8', 'asterisk_security_log');
    s.model.health.banIp('203.0.113.7', 'dropbear');
    s.model.health.setClockSkew(-75);
    await t.runSystemPoll();
    const text = t.metricsText();
    expectTruth(s, text);
    expect(sample(text, 'mikopbx_banned_ips{jail="asterisk_security_log"}')).toBe(2);
    expect(text).not.toContain('203.0.113.');

    s.model.health.unbanIp('203.0.113.7');
    s.model.health.clearAdvice();
    s.model.health.setStoragePending(true);
    await t.runSystemPoll();
    expectTruth(s, t.metricsText());
    expect(s.stats.forbiddenCalls).toBe(0);
    const paths = new Set(s.requests.map((r) => r.path));
    for (const p of paths) expect(p).toMatch(/system:ping|storage:usage|advice:getList|firewall:getBannedIps|system:datetime/);
  });
});
