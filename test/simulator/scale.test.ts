/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { describe, expect, it } from 'vitest';
import { getJson, manualClock, simsClosedAfterEach } from './helpers.js';

const sim = simsClosedAfterEach();

describe('scale', () => {
  it('stays fast with 5000 extensions, 200 trunks, 500 calls and 100k CDR legs', { timeout: 120_000 }, async () => {
    const clock = manualClock();
    let t = performance.now();
    const s = await sim({ now: clock.now, extensions: 5000, providers: 200, activeCalls: 500, historyCalls: 0 });
    const gen = s.model.generateCalls(80_000);
    expect(gen.legs).toBeGreaterThan(100_000);
    const setup = performance.now() - t;
    t = performance.now();
    const statuses = await getJson(s, '/pbxcore/api/v3/sip:getStatuses');
    expect(Object.keys(statuses.json.data)).toHaveLength(5000);
    const statusMs = performance.now() - t;
    t = performance.now();
    const tail = await getJson(s, `/pbxcore/api/v3/cdr?grouped=false&sort=id&order=ASC&limit=1000&idFrom=${gen.lastId - 10}&dateFrom=2026-03-01`);
    expect(tail.json.data.records).toHaveLength(10);
    expect(s.model.cdr.lastScanned).toBe(10); // binary search on the id, not a table scan
    const cursorMs = performance.now() - t;
    t = performance.now();
    const calls = await getJson(s, '/pbxcore/api/v3/pbx-status:getActiveChannels');
    expect(new Set(calls.json.data.map((r: any) => r.linkedid)).size).toBe(500);
    const truth = s.model.truth({ cdrAfterId: gen.lastId - 1000 });
    const liveMs = performance.now() - t;
    expect(truth.activeCallsTotal).toBe(500);
    // timings are informative only: CI machines are shared
    console.log(
      `scale: setup ${setup.toFixed(0)} ms, sip:getStatuses ${statusMs.toFixed(0)} ms, cdr cursor ${cursorMs.toFixed(0)} ms, live+truth ${liveMs.toFixed(0)} ms`,
    );
  });
});
