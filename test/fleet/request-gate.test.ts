import { describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import { RequestGate } from '../../src/fleet/request-gate.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('the fleet request gate (MAX_REQUESTS_IN_FLIGHT)', () => {
  it('never lets more than the limit through and serves waiters first come, first served', async () => {
    const gate = new RequestGate(2);
    const order: string[] = [];
    const r1 = await gate.acquire(false, '/a');
    const r2 = await gate.acquire(false, '/b');
    const waiting = ['c', 'd', 'e'].map((n) => gate.acquire(false, `/${n}`).then((release) => (order.push(n), release)));
    await tick();
    expect(gate.active).toBe(2);
    expect(gate.queued).toBe(3);
    r1();
    r1(); // releasing twice frees one slot only
    await tick();
    expect(order).toEqual(['c']);
    expect(gate.active).toBe(2);
    r2();
    await tick();
    expect(order).toEqual(['c', 'd']);
    for (const p of waiting.slice(0, 2)) (await p)();
    await tick();
    expect(order).toEqual(['c', 'd', 'e']);
    (await (waiting[2] as Promise<() => void>))();
    expect(gate.active).toBe(0);
  });

  it('caps PBXs whose last request timed out at a quarter of the slots, without holding up the others', async () => {
    const gate = new RequestGate(8);
    expect(gate.suspectLimit).toBe(2);
    const s1 = await gate.acquire(true, '/s');
    await gate.acquire(true, '/s');
    let third = false;
    const s3 = gate.acquire(true, '/s').then((r) => ((third = true), r));
    // A healthy PBX behind the blocked suspect still gets a slot at once.
    const healthy = await Promise.race([gate.acquire(false, '/h'), new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    expect(healthy).not.toBeNull();
    expect(third).toBe(false);
    s1();
    await tick();
    expect(third).toBe(true);
    (await s3)();
  });

  it('gives up waiting when the poll ends, as a request not sent', async () => {
    const gate = new RequestGate(1);
    const held = await gate.acquire(false, '/a');
    const stop = new AbortController();
    const waiting = gate.acquire(false, '/pbxcore/api/v3/sip', stop.signal);
    stop.abort();
    const e = await waiting.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PbxApiError);
    expect((e as PbxApiError).kind).toBe('in_flight');
    expect(gate.queued).toBe(0);
    held();
    expect(gate.active).toBe(0);
  });
});
