import { describe, expect, it } from 'vitest';
import { PbxClock } from '../../sim/clock.js';
import { phpJsonEncode, emptyObjectsToLists } from '../../sim/php-json.js';
import { startSimulator } from '../../sim/index.js';

describe('PBX clock', () => {
  const at = Date.UTC(2026, 3, 10, 23, 59, 59, 7);

  it('formats CDR times and date(c) in the PBX offset', () => {
    const msk = new PbxClock(() => at, 180);
    expect(msk.local()).toBe('2026-04-11 02:59:59.007');
    expect(msk.localSeconds()).toBe('2026-04-11 02:59:59');
    expect(msk.iso()).toBe('2026-04-11T02:59:59+03:00');
    const ny = new PbxClock(() => at, -300);
    expect(ny.local()).toBe('2026-04-10 18:59:59.007');
    expect(ny.iso()).toBe('2026-04-10T18:59:59-05:00');
    const india = new PbxClock(() => at, 330);
    expect(india.iso()).toBe('2026-04-11T05:29:59+05:30');
    expect(new PbxClock(() => at, 0).iso()).toBe('2026-04-10T23:59:59+00:00');
    // many consecutive formats stay right across midnight
    for (let ms = at - 5000; ms < at + 5000; ms += 777) {
      const d = new Date(ms + 180 * 60_000).toISOString();
      expect(msk.local(ms)).toBe(`${d.slice(0, 10)} ${d.slice(11, 23)}`);
    }
  });

  it('parses dates like PHP DateTime, in the PBX zone', () => {
    const c = new PbxClock(() => at, 180);
    expect(c.parsePhpDate('2026-04-10 10:00:00')).toBe(Date.UTC(2026, 3, 10, 7, 0, 0));
    expect(c.parsePhpDate('2026-04-10T10:00:00')).toBe(Date.UTC(2026, 3, 10, 7, 0, 0));
    expect(c.parsePhpDate('2026-04-10T10:00:00Z')).toBe(Date.UTC(2026, 3, 10, 10, 0, 0));
    expect(c.parsePhpDate('2026-04-10 10:00:00+01:00')).toBe(Date.UTC(2026, 3, 10, 9, 0, 0));
    expect(c.parsePhpDate('2026-04-10')).toBe(Date.UTC(2026, 3, 9, 21, 0, 0));
    expect(c.parsePhpDate('now')).toBe(at);
    expect(c.parsePhpDate('2026-13-01')).toBeNull();
    expect(c.parsePhpDate('10/04/2026')).toBeNull();
  });
});

describe('PHP JSON', () => {
  it('escapes like json_encode and turns empty objects into []', () => {
    expect(phpJsonEncode({ a: 'x/y', b: 'Ä€😀', c: '\n"\\' })).toBe('{"a":"x\\/y","b":"\\u00c4\\u20ac\\ud83d\\ude00","c":"\\n\\"\\\\"}');
    expect(emptyObjectsToLists({ sip: {}, iax: { a: { deep: {} } }, list: [{}] })).toEqual({ sip: [], iax: { a: { deep: [] } }, list: [[]] });
  });
});

describe('living timer', () => {
  it('ticks on its own and stops on close', async () => {
    const sim = await startSimulator({ living: { tickMs: 20 }, cdrCallsPerSecond: 100, activeCalls: 1, historyCalls: 0, extensions: 30 });
    try {
      const started = Date.now();
      while (sim.model.activeCalls().length < 5 && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 20));
      expect(sim.model.activeCalls().length).toBeGreaterThanOrEqual(5);
    } finally {
      await sim.close();
    }
    // calls only move from active to completed once the timer is gone; none start
    const known = (): number => sim.model.activeCalls().length + sim.model.completedCalls().length;
    const n = known();
    await new Promise((r) => setTimeout(r, 100));
    expect(known()).toBe(n);
  });
});
