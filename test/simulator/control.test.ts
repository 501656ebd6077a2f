/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { getJson, manualClock, withSim } from './helpers.js';

async function control(sim: Simulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.url}/__sim/${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('control interface', () => {
  let sim: Simulator;
  const clock = manualClock();
  beforeAll(async () => {
    sim = await withSim({ now: clock.now, activeCalls: 2 });
  });
  afterAll(() => sim.close());

  it('serves the ground truth and the request log', async () => {
    const base = sim.model.maxCdrId();
    const t = await control(sim, 'GET', `truth?cdrAfterId=${base}`);
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({ mode: 'v3', activeCallsTotal: 2, cdr: { afterId: base, callsTotal: 0 } });
    await getJson(sim, '/pbxcore/api/v3/sip:getStatuses');
    const log = await control(sim, 'GET', 'requests');
    expect(log.json.at(-1)).toMatchObject({ path: '/pbxcore/api/v3/sip:getStatuses', status: 200, authorized: true });
    expect(log.json.some((e: any) => e.path.startsWith('/__sim'))).toBe(false);
  });

  it('changes providers and extensions', async () => {
    const id = sim.model.providers()[0]?.id as string;
    const p = await control(sim, 'POST', `providers/${id}`, { state: 'rejected' });
    expect(p.json.state).toBe('rejected');
    expect((await control(sim, 'GET', 'truth')).json.providers[id].state).toBe('rejected');
    const created = await control(sim, 'POST', 'providers/SIP-TRUNK-00C0FFEE', { state: 'registered', description: 'New' });
    expect(created.json).toMatchObject({ id: 'SIP-TRUNK-00C0FFEE', type: 'sip', state: 'registered' });
    expect((await control(sim, 'DELETE', 'providers/SIP-TRUNK-00C0FFEE')).status).toBe(200);
    expect((await control(sim, 'DELETE', 'providers/SIP-TRUNK-00C0FFEE')).status).toBe(404);

    const e = await control(sim, 'POST', 'extensions/201', { status: 'Unavailable' });
    expect(e.json).toMatchObject({ number: '201', status: 'Unavailable', devices: [] });
    expect((await control(sim, 'POST', 'extensions/201', { status: 'Bogus' })).status).toBe(400);
    const added = await control(sim, 'POST', 'extensions/777', { callerid: 'Multi\nLine', status: 'Available' });
    expect(added.json.devices.length).toBeGreaterThan(0);
    const r = await getJson(sim, '/pbxcore/api/v3/sip/777:getStatus');
    expect(r.json.data.callerid).toBe('Multi\nLine');
    expect((await control(sim, 'DELETE', 'extensions/777')).status).toBe(200);
    expect((await getJson(sim, '/pbxcore/api/v3/sip/777:getStatus')).status).toBe(422);
  });

  it('starts, ends and generates calls', async () => {
    const base = sim.model.maxCdrId();
    const c = await control(sim, 'POST', 'calls', { scenario: 'outbound' });
    expect(c.json).toMatchObject({ scenario: 'outbound', direction: 'outbound' });
    expect((await control(sim, 'GET', 'truth')).json.activeCalls.outbound).toBeGreaterThanOrEqual(1);
    expect((await control(sim, 'DELETE', `calls/${c.json.linkedid}`)).status).toBe(200);
    const g = await control(sim, 'POST', 'calls', { generate: 25 });
    expect(g.json.calls).toBe(25);
    expect((await control(sim, 'GET', `truth?cdrAfterId=${base}`)).json.cdr.callsTotal).toBe(26);
    expect((await control(sim, 'POST', 'calls', { scenario: 'nope' })).status).toBe(400);
  });

  it('sets and clears faults, switches mode, expires sessions', async () => {
    const f = await control(sim, 'POST', 'faults', { kind: 'status-503', paths: ['/pbxcore/api/v3/sip:getStatuses'], count: 1 });
    expect(f.json).toEqual([{ kind: 'status-503', paths: ['/pbxcore/api/v3/sip:getStatuses'], count: 1, remaining: 1 }]);
    expect((await getJson(sim, '/pbxcore/api/v3/sip:getStatuses')).status).toBe(503);
    expect((await getJson(sim, '/pbxcore/api/v3/sip:getStatuses')).status).toBe(200);
    await control(sim, 'POST', 'faults', { kind: 'http-500' });
    expect((await getJson(sim, '/pbxcore/api/v3/system:ping')).status).toBe(500);
    await control(sim, 'DELETE', 'faults');
    expect((await getJson(sim, '/pbxcore/api/v3/system:ping')).status).toBe(200);
    expect((await control(sim, 'POST', 'faults', { kind: 'meteor' })).status).toBe(400);

    expect((await control(sim, 'POST', 'mode', { mode: 'legacy' })).json).toEqual({ mode: 'legacy' });
    expect((await getJson(sim, '/pbxcore/api/v3/system:ping')).status).toBe(404);
    expect((await control(sim, 'POST', 'sessions/expire')).json).toEqual({ expired: 0 });
    await control(sim, 'POST', 'mode', { mode: 'v3' });
    expect((await getJson(sim, '/pbxcore/api/v3/system:ping')).status).toBe(200);
    expect((await control(sim, 'GET', 'nothing')).status).toBe(404);
  });
});
