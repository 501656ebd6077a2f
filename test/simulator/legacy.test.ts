/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { DEFAULT_PASSWORD } from '../../sim/index.js';
import { getRaw, manualClock, withSim } from './helpers.js';

let sim: Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function login(s: Simulator, password = DEFAULT_PASSWORD, xhr = true): Promise<{ status: number; json: any; text: string; cookie: string | null }> {
  const res = await fetch(`${s.url}/admin-cabinet/session/start`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
      ...(xhr ? { 'X-Requested-With': 'XMLHttpRequest' } : {}),
    },
    body: new URLSearchParams({ login: 'admin', password }).toString(),
  });
  const text = await res.text();
  const setCookie = res.headers.get('set-cookie');
  const m = setCookie ? /PHPSESSID=([^;]+)/.exec(setCookie) : null;
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, cookie: m ? (m[1] as string) : null };
}

async function api(s: Simulator, path: string, cookie: string | null): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${s.url}${path}`, { headers: cookie ? { Cookie: `PHPSESSID=${cookie}` } : {} });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

describe('legacy auth', () => {
  it('is detected by a 404 on the v3 ping, with the legacy 404 body', async () => {
    sim = await withSim({ mode: 'legacy' });
    const r = await getRaw(sim, '/pbxcore/api/v3/system:ping');
    expect(r.status).toBe(404);
    const body = JSON.parse(r.text);
    expect(Object.keys(body)).toEqual(['jsonapi', 'errors', 'meta']);
    expect(body).toMatchObject({ jsonapi: { version: '1.0' }, errors: ['404 (Not Found)'] });
    expect(body.meta.timestamp).toMatch(/\+03:00$/);
    expect((await getRaw(sim, '/pbxcore/api/system/ping')).text).toBe('PONG');
  });

  it('needs a PHPSESSID from session/start; 401s are counted for fail2ban', async () => {
    sim = await withSim({ mode: 'legacy' });
    const no = await api(sim, '/pbxcore/api/sip/getPeersStatuses', null);
    expect(no.status).toBe(401);
    expect(Object.keys(no.json)).toEqual(['jsonapi', 'errors', 'meta']);
    expect(no.json.errors).toEqual(["The user isn't authenticated."]);
    expect(sim.stats.unauthenticatedRequests).toBe(1);
    expect((await api(sim, '/pbxcore/api/sip/getPeersStatuses', 'forged')).status).toBe(401);

    const ok = await login(sim);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ success: true, reload: '/admin-cabinet/extensions/index', message: [] });
    expect(ok.cookie).toMatch(/^[0-9a-v]{26}$/);
    const r = await api(sim, '/pbxcore/api/sip/getPeersStatuses', ok.cookie);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['jsonapi', 'result', 'data', 'messages', 'function', 'processor', 'pid', 'meta']);
    expect(r.json).toMatchObject({ jsonapi: { version: '1.0' }, result: true, messages: [], function: 'getPeersStatuses' });
    expect(sim.stats).toMatchObject({ loginAttempts: 1, failedLogins: 0, unauthenticatedRequests: 2 });
  });

  it('a wrong password fails with success:false and no cookie; only form bodies count', async () => {
    sim = await withSim({ mode: 'legacy' });
    const bad = await login(sim, 'wrong');
    expect(bad.json).toEqual({ success: false, reload: false, message: { error: ['Authorization failed, you have 9 attempts left'] } });
    expect(bad.cookie).toBeNull();
    const json = await fetch(`${sim.url}/admin-cabinet/session/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
      body: JSON.stringify({ login: 'admin', password: DEFAULT_PASSWORD }),
    });
    expect(((await json.json()) as { success: boolean }).success).toBe(false);
    const html = await login(sim, DEFAULT_PASSWORD, false);
    expect(html.text).toContain('<form');
    expect(sim.stats).toMatchObject({ loginAttempts: 3, failedLogins: 2 });
  });

  it('throttles session/start per IP in 300 s buckets, counting successful logins too', async () => {
    const clock = manualClock(Date.UTC(2026, 3, 10, 11, 20, 0)); // start of a 300 s bucket
    sim = await withSim({ mode: 'legacy', now: clock.now });
    for (let i = 1; i <= 9; i++) {
      const r = await login(sim);
      expect(r.json.success).toBe(true);
      expect(r.cookie).not.toBeNull();
    }
    const tenth = await login(sim);
    // the PBX answers success:true here but registers no session (SessionController::startAction)
    expect(tenth.json).toEqual({
      success: true,
      reload: '/admin-cabinet/session/index',
      message: { error: ['Too many login attempts. Please try again in 300 seconds.'] },
    });
    expect(tenth.cookie).toBeNull();
    expect((await login(sim)).cookie).toBeNull();
    clock.advance(300_000);
    expect((await login(sim)).cookie).not.toBeNull();
    expect(sim.stats.failedLogins).toBe(2);
  });

  it('sessions slide with use and expire after the TTL or on demand', async () => {
    const clock = manualClock();
    sim = await withSim({ mode: 'legacy', now: clock.now, sessionTtlSeconds: 60 });
    const { cookie } = await login(sim);
    clock.advance(50_000);
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', cookie)).status).toBe(200);
    clock.advance(50_000);
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', cookie)).status).toBe(200);
    clock.advance(60_001);
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', cookie)).status).toBe(401);
    const again = await login(sim);
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', again.cookie)).status).toBe(200);
    expect(sim.expireSessions()).toBe(1);
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', again.cookie)).status).toBe(401);
  });

  it('lets 127.0.0.1 in without a session only with localhostBypass', async () => {
    sim = await withSim({ mode: 'legacy', localhostBypass: true });
    expect((await api(sim, '/pbxcore/api/sip/getRegistry', null)).status).toBe(200);
  });
});

describe('legacy endpoints', () => {
  async function loggedIn(opts: Parameters<typeof withSim>[0] = {}): Promise<{ s: Simulator; get: (p: string) => Promise<any> }> {
    const s = await withSim({ mode: 'legacy', ...opts });
    sim = s;
    const { cookie } = await login(s);
    return { s, get: async (p: string) => (await api(s, p, cookie)).json };
  }

  it('getPeersStatuses: OK only when idle, phones in a call are UNKNOWN, trunks mixed in', async () => {
    const clock = manualClock();
    const { s, get } = await loggedIn({ now: clock.now, activeCalls: 0, historyCalls: 0 });
    const call = s.model.startCall('internal');
    const r = await get('/pbxcore/api/sip/getPeersStatuses');
    expect(r.processor).toBe('MikoPBX\\PBXCoreREST\\Lib\\Sip\\GetPeersStatusesAction::main');
    for (const row of r.data) expect(Object.keys(row)).toEqual(['id', 'state']);
    const byId = Object.fromEntries(r.data.map((x: any) => [x.id, x.state]));
    expect(r.data.some((x: any) => x.id.endsWith('-WS'))).toBe(false);
    expect(s.model.activeCalls()).toHaveLength(1);
    const legs = (await get('/pbxcore/api/cdr/getActiveChannels')).data;
    expect(byId[legs[0].src_num]).toBe('UNKNOWN');
    expect(byId[legs[0].dst_num]).toBe('UNKNOWN');
    const trunk = s.model.providers().find((p) => p.type === 'sip' && !p.disabled);
    expect(byId[trunk?.id as string]).toBe('OK');
    const idle = s.model.extensions().find((e) => e.status === 'Available' && e.number !== legs[0].src_num && e.number !== legs[0].dst_num);
    expect(byId[idle?.number as string]).toBe('OK');
    // contract: a phone with a live channel counts as available
    const truth = s.model.truth();
    expect(truth.peers[legs[0].src_num]?.status).toBe('available');
    const unknown = s.model.extensions().find((e) => e.status === 'Unknown');
    expect(truth.peers[unknown?.number as string]?.status).toBe('unavailable');
    expect(truth.extensions.unknown).toBe(0);
    s.model.endCall(call.linkedid);
  });

  it('getActiveCalls returns ONE JSON-encoded string with legacy columns', async () => {
    const { s, get } = await loggedIn({ activeCalls: 3 });
    const r = await get('/pbxcore/api/cdr/getActiveCalls');
    expect(r.processor).toBe('MikoPBX\\PBXCoreREST\\Lib\\CdrDB\\GetActiveCallsAction::main');
    expect(r.data).toHaveLength(1);
    expect(typeof r.data[0]).toBe('string');
    const rows = JSON.parse(r.data[0]);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const row of rows) expect(Object.keys(row)).toEqual(['start', 'answer', 'endtime', 'src_num', 'dst_num', 'did', 'linkedid']);
    expect(new Set(rows.map((x: any) => x.linkedid)).size).toBe(3);
    const ch = await get('/pbxcore/api/cdr/getActiveChannels');
    expect(Object.keys(ch.data[0])).toEqual(['start', 'answer', 'src_chan', 'dst_chan', 'src_num', 'dst_num', 'did', 'linkedid']);
    for (const c of s.model.activeCalls()) s.model.endCall(c.linkedid);
    expect((await get('/pbxcore/api/cdr/getActiveCalls')).data).toEqual(['[]']);
  });

  it('getRegistry states: SIP uppercase, IAX raw AMI strings', async () => {
    const { s, get } = await loggedIn({ providers: 6 });
    const sip = await get('/pbxcore/api/sip/getRegistry');
    const states = Object.fromEntries(sip.data.map((x: any) => [x.id, x.state]));
    const [outbound, iax, inbound, disabled] = s.model.providers();
    expect(states[outbound?.id as string]).toBe('REGISTERED');
    expect(states[inbound?.id as string]).toBe('REGISTERED');
    expect(states[disabled?.id as string]).toBe('OFF');
    s.model.setProviderState(outbound?.id as string, 'unreachable');
    expect((await get('/pbxcore/api/sip/getRegistry')).data.find((x: any) => x.id === outbound?.id).state).toBe('UNREGISTERED');

    const reg = async (): Promise<any> => (await get('/pbxcore/api/iax/getRegistry')).data.find((x: any) => x.id === iax?.id);
    expect(await reg()).toEqual({ state: 'Registered', id: iax?.id, username: iax?.username, host: iax?.host, noregister: '0' });
    s.model.setProviderState(iax?.id as string, 'unregistered');
    expect((await reg()).state).toBe('Request Sent');
    s.model.setProviderState(iax?.id as string, 'unregistered', { legacy: 'Error register.' });
    expect((await reg()).state).toBe('Error register.');
    expect(s.model.truth().providers[iax?.id as string]?.state).toBe('unregistered');
    s.model.updateProvider(iax?.id as string, { registration_type: 'none' });
    s.model.setProviderState(iax?.id as string, 'ok');
    const noreg = await reg();
    expect(noreg).toMatchObject({ state: 'OK', noregister: '1' });
    expect(noreg['time-response']).toMatch(/^\d+$/);
  });

  it('getSipPeer flattens the AMI contact fields', async () => {
    const { s, get } = await loggedIn();
    const ext = s.model.extensions().find((e) => e.status === 'Available');
    const r = await get(`/pbxcore/api/sip/getSipPeer?peer=${ext?.number}`);
    expect(r.data).toMatchObject({ Event: 'ContactStatusDetail', AOR: ext?.number, state: 'OK' });
  });

  it('switches API generation at runtime (PBX upgrade)', async () => {
    const { s } = await loggedIn();
    expect((await getRaw(s, '/pbxcore/api/v3/system:ping')).status).toBe(404);
    s.setMode('v3');
    expect(s.mode).toBe('v3');
    expect((await getRaw(s, '/pbxcore/api/v3/system:ping')).status).toBe(200);
    const old = await getRaw(s, '/pbxcore/api/sip/getPeersStatuses');
    expect(old.status).toBe(404);
    expect(JSON.parse(old.text).success).toBe(false);
    expect((await getRaw(s, '/admin-cabinet/session/start', { method: 'POST' })).status).toBe(404);
    s.setMode('legacy');
    expect((await getRaw(s, '/pbxcore/api/v3/system:ping')).status).toBe(404);
  });
});
