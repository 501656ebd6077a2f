import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CoreSource } from '../../src/api/ami/client.js';
import { AmiError } from '../../src/api/ami/errors.js';
import type { CoreSettings, CoreStatus } from '../../src/api/ami/types.js';
import type { PbxApi } from '../../src/api/pbx-api.js';
import { AsteriskCollector } from '../../src/collectors/asterisk.js';
import type { CollectContext } from '../../src/collectors/collector.js';
import { parseExposition, seriesOf } from '../helpers/exposition.js';
import { captureLogger } from '../helpers/fixtures.js';

const SETTINGS: CoreSettings = {
  amiVersion: '11.0.0',
  asteriskVersion: '22.7.0',
  systemName: 'mikopbx',
  maxCalls: 0,
  maxLoadAvg: 0,
  runUser: 'www',
  runGroup: 'www',
  maxFileHandles: 0,
  realtimeEnabled: false,
  cdrEnabled: true,
  httpEnabled: true,
};

class FakeCore implements CoreSource {
  status: CoreStatus = {
    startupDate: '2026-04-07',
    startupTime: '09:12:44',
    reloadDate: '2026-04-10',
    reloadTime: '13:05:02',
    currentCalls: 3,
    processedCalls: 1523,
  };
  settings = SETTINGS;
  error: Error | null = null;
  async coreStatus() {
    if (this.error) throw this.error;
    return { ...this.status };
  }
  async coreSettings() {
    return { ...this.settings };
  }
}

async function setup(offset: { value: number | null }) {
  const registry = new Registry();
  const core = new FakeCore();
  const collector = new AsteriskCollector(registry, core, { intervalSeconds: 60, utcOffsetMinutes: () => offset.value });
  const { logger, lines } = await captureLogger('debug');
  const ctx: CollectContext = { api: {} as PbxApi, snapshot: { providers: null, liveEndpoints: null, extensionNumbers: null }, log: logger, now: Date.now };
  const value = async (name: string) => Object.fromEntries(seriesOf(parseExposition(await registry.metrics()), name));
  return { registry, core, collector, lines, value, run: () => collector.collect(ctx) };
}

describe('asterisk collector', () => {
  it('start and reload times: PBX-local CoreStatus times converted with the PBX offset', async () => {
    const s = await setup({ value: 180 });
    await s.run();
    expect(await s.value('mikopbx_asterisk_start_time_seconds')).toEqual({ '': Date.UTC(2026, 3, 7, 6, 12, 44) / 1000 });
    expect(await s.value('mikopbx_asterisk_reload_time_seconds')).toEqual({ '': Date.UTC(2026, 3, 10, 10, 5, 2) / 1000 });
    expect(await s.value('mikopbx_asterisk_info')).toEqual({ '{version="22.7.0"}': 1 });
    expect(await s.value('mikopbx_asterisk_processed_calls_total')).toEqual({ '': 1523 });
  });

  it('offset unknown: no times (said once, not guessed), the rest as usual; times appear once it is known', async () => {
    const offset = { value: null as number | null };
    const s = await setup(offset);
    await s.run();
    await s.run();
    expect(await s.value('mikopbx_asterisk_start_time_seconds')).toEqual({});
    expect(await s.value('mikopbx_asterisk_reload_time_seconds')).toEqual({});
    expect(await s.value('mikopbx_asterisk_info')).toEqual({ '{version="22.7.0"}': 1 });
    expect(s.lines.filter((l) => l.includes('UTC offset is not known yet'))).toHaveLength(1);
    offset.value = -300;
    await s.run();
    expect(await s.value('mikopbx_asterisk_start_time_seconds')).toEqual({ '': Date.UTC(2026, 3, 7, 14, 12, 44) / 1000 });
  });

  it('processed calls stay monotonic across restarts, even when the new count passed the old one', async () => {
    const s = await setup({ value: 0 });
    await s.run();
    s.core.status.processedCalls = 1600;
    await s.run();
    expect((await s.value('mikopbx_asterisk_processed_calls_total'))['']).toBe(1600);
    // restart (new start time), then 2000 calls before the next poll: all of them count
    s.core.status = { ...s.core.status, startupDate: '2026-04-11', startupTime: '00:00:01', processedCalls: 2000 };
    await s.run();
    expect((await s.value('mikopbx_asterisk_processed_calls_total'))['']).toBe(3600);
    // a lower count without a new start time is a reset too
    s.core.status.processedCalls = 5;
    await s.run();
    expect((await s.value('mikopbx_asterisk_processed_calls_total'))['']).toBe(3605);
    s.core.status.processedCalls = 5;
    await s.run();
    expect((await s.value('mikopbx_asterisk_processed_calls_total'))['']).toBe(3605);
  });

  it('Asterisk without CoreProcessedCalls: the counter is absent, not 0', async () => {
    const s = await setup({ value: 0 });
    s.core.status.processedCalls = null;
    await s.run();
    expect(await s.value('mikopbx_asterisk_processed_calls_total')).toEqual({});
  });

  it('a failed run leaves the previous values; a new version replaces the info series', async () => {
    const s = await setup({ value: 180 });
    await s.run();
    const before = await s.registry.metrics();
    s.core.error = new AmiError('permission', 'CoreStatus', 'denied');
    await expect(s.run()).rejects.toThrow('denied');
    expect(await s.registry.metrics()).toBe(before);
    s.core.error = null;
    s.core.settings = { ...SETTINGS, asteriskVersion: '22.8.1' };
    await s.run();
    expect(await s.value('mikopbx_asterisk_info')).toEqual({ '{version="22.8.1"}': 1 });
  });

  it('HELP texts say the source and the interval', async () => {
    const s = await setup({ value: 0 });
    s.collector.setIntervalSeconds(120);
    const text = await s.registry.metrics();
    expect(text).toMatch(
      /# HELP mikopbx_asterisk_start_time_seconds Unix time Asterisk started \(AMI CoreStatus\)\. .*absent while the exporter does not know that offset\. Refreshed every 120 seconds\./,
    );
    expect(text).toMatch(/# TYPE mikopbx_asterisk_processed_calls_total counter/);
  });
});
