/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { AUTH, getJson, getRaw, manualClock, withSim } from './helpers.js';

const V3 = '/pbxcore/api/v3/';

describe('v3 envelope and auth', () => {
  let sim: Simulator;
  const clock = manualClock();
  beforeAll(async () => {
    sim = await withSim({ now: clock.now });
  });
  afterAll(() => sim.close());

  it('wraps results in the PBXApiResult envelope with meta in PBX local time', async () => {
    const r = await getJson(sim, `${V3}system:ping`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(r.headers.get('e-tag')).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(r.json)).toEqual(['result', 'data', 'messages', 'function', 'processor', 'pid', 'meta']);
    expect(r.json).toMatchObject({ result: true, data: [], messages: [], function: 'ping' });
    expect(r.json.processor).toBe('MikoPBX\\PBXCoreREST\\Lib\\SystemManagementProcessor::handlePing');
    expect(r.json.meta.timestamp).toBe('2026-04-10T14:22:31+03:00');
    expect(r.json.meta.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('encodes like PHP json_encode: escaped slashes and \\u escapes', async () => {
    const r = await getJson(sim, `${V3}sip:getStatuses`);
    expect(r.text).toContain('\\u0410\\u043b\\u0438\\u0441\\u0430'); // Алиса
    expect(r.text).toContain('Local\\/Private Network');
    expect(r.json.data['204'].callerid).toBe('Алиса Петрова');
  });

  it('system:ping is public, everything else needs the Bearer key', async () => {
    expect((await getRaw(sim, `${V3}system:ping`)).status).toBe(200);
    const bad = await getRaw(sim, `${V3}system:ping`, { headers: { Authorization: 'Bearer nope' } });
    expect(bad.status).toBe(200);
    const r = await getRaw(sim, `${V3}sip:getStatuses`);
    expect(r.status).toBe(401);
    const body = JSON.parse(r.text);
    expect(Object.keys(body)).toEqual(['result', 'data', 'messages', 'function', 'processor', 'pid', 'meta']);
    expect(body).toMatchObject({ result: false, data: [], messages: { error: ["The user isn't authenticated."] }, function: '', processor: '' });
    expect(typeof body.pid).toBe('number');
    const wrong = await getRaw(sim, `${V3}sip:getStatuses`, { headers: { Authorization: 'Bearer 00' } });
    expect(wrong.status).toBe(401);
    const ok = await getRaw(sim, `${V3}sip:getStatuses`, { headers: AUTH });
    expect(ok.status).toBe(200);
  });

  it('datetime gives unix seconds', async () => {
    const r = await getJson(sim, `${V3}system:datetime`);
    expect(r.json.data).toEqual({ timestamp: Math.floor(clock.now() / 1000) });
  });

  it('unknown paths give the router 404 body, without auth', async () => {
    const r = await getRaw(sim, `${V3}nonsense:doIt`);
    expect(r.status).toBe(404);
    const body = JSON.parse(r.text);
    expect(Object.keys(body)).toEqual(['success', 'messages', 'data', 'meta']);
    expect(body).toMatchObject({ success: false, messages: { error: [`Endpoint not found: ${V3}nonsense:doIt`] }, data: null });
  });

  it('legacy paths are 404 on v3, except the nginx static PONG', async () => {
    const r = await getRaw(sim, '/pbxcore/api/sip/getPeersStatuses', { headers: AUTH });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text).messages.error[0]).toBe('Endpoint not found: /pbxcore/api/sip/getPeersStatuses');
    const pong = await getRaw(sim, '/pbxcore/api/system/ping');
    expect(pong.status).toBe(200);
    expect(pong.text).toBe('PONG');
  });

  it('wrong verb for a custom method gives 405 with only result, messages, meta', async () => {
    const r = await getJson(sim, `${V3}sip:getStatuses`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(Object.keys(r.json)).toEqual(['result', 'messages', 'meta']);
    expect(r.json.messages.error).toEqual(["Method 'getStatuses' is not allowed with HTTP POST"]);
  });

  it('localhost bypass is off by default and on by option; a bad token still fails', async () => {
    const open = await withSim({ localhostBypass: true });
    try {
      expect((await getRaw(open, `${V3}sip:getStatuses`)).status).toBe(200);
      expect((await getRaw(open, `${V3}sip:getStatuses`, { headers: { Authorization: 'Bearer bad' } })).status).toBe(401);
    } finally {
      await open.close();
    }
  });

  it('logs every API request, not control requests', async () => {
    const before = sim.requests.length;
    await getRaw(sim, `${V3}sip:getStatuses?forceCheck=true`);
    await getRaw(sim, '/__sim/truth');
    const added = sim.requests.slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      method: 'GET',
      path: `${V3}sip:getStatuses`,
      query: { forceCheck: 'true' },
      status: 401,
      ip: '127.0.0.1',
      authorized: false,
    });
  });
});

describe('v3 status endpoints', () => {
  let sim: Simulator;
  const clock = manualClock();
  beforeAll(async () => {
    sim = await withSim({ now: clock.now, extensions: 12, providers: 4, activeCalls: 3 });
  });
  afterAll(() => sim.close());

  it('sip:getStatuses is an object keyed by extension with devices', async () => {
    const r = await getJson(sim, `${V3}sip:getStatuses?forceCheck=true`);
    expect(Array.isArray(r.json.data)).toBe(false);
    const enabled = sim.model.extensions().filter((e) => !e.disabled);
    expect(Object.keys(r.json.data).sort()).toEqual(enabled.map((e) => e.number).sort());
    const e201 = r.json.data['201'];
    expect(Object.keys(e201)).toEqual(['extension', 'callerid', 'status', 'devices', 'rtt']);
    expect(['Available', 'Unavailable', 'Unknown']).toContain(e201.status);
    for (const ext of Object.values<any>(r.json.data)) {
      for (const d of ext.devices) expect(Object.keys(d)).toEqual(['ip', 'port', 'user_agent', 'rtt', 'country', 'countryName']);
      if (ext.status === 'Unavailable') expect(ext.devices).toEqual([]);
    }
    const statuses = new Set(Object.values<any>(r.json.data).map((e) => e.status));
    expect(statuses).toEqual(new Set(['Available', 'Unavailable', 'Unknown']));
  });

  it('says "Using cached data (fresh)" inside the 30 s cache window', async () => {
    const first = await getJson(sim, `${V3}sip:getStatuses?forceCheck=true`);
    expect(first.json.messages).toEqual([]);
    const second = await getJson(sim, `${V3}sip:getStatuses`);
    expect(second.json.messages).toEqual({ info: ['Using cached data (fresh)'] });
    clock.advance(31_000);
    expect((await getJson(sim, `${V3}sip:getStatuses`)).json.messages).toEqual([]);
  });

  it('simplified=true returns only extension and status', async () => {
    const r = await getJson(sim, `${V3}sip:getStatuses?simplified=true`);
    expect(r.json.data['201']).toEqual({ extension: '201', status: sim.model.getExtension('201')?.status });
  });

  it('sip/{n}:getStatus returns one extension or 422', async () => {
    const r = await getJson(sim, `${V3}sip/202:getStatus`);
    expect(r.status).toBe(200);
    expect(r.json.data.extension).toBe('202');
    const missing = await getJson(sim, `${V3}sip/999:getStatus`);
    expect(missing.status).toBe(422);
    expect(missing.json).toMatchObject({ result: false, messages: { error: ['Extension not found or status unavailable'] } });
    expect(missing.json.httpCode).toBeUndefined();
  });

  it('sip:getPeersStatuses lists extensions, NNN-WS and trunks', async () => {
    const r = await getJson(sim, `${V3}sip:getPeersStatuses`);
    const ids = r.json.data.map((x: any) => x.id);
    expect(ids).toContain('201');
    expect(ids).toContain('201-WS');
    const trunk = sim.model.providers().find((p) => p.type === 'sip' && !p.disabled);
    expect(ids).toContain(trunk?.id);
    for (const row of r.json.data) {
      expect(Object.keys(row)).toEqual(['id', 'state', 'detailed-state']);
      expect(['OK', 'UNKNOWN']).toContain(row.state);
    }
  });

  it('the three provider status endpoints return the same combined payload', async () => {
    const bodies = [];
    for (const family of ['sip-providers', 'iax-providers', 'providers']) {
      const r = await getJson(sim, `${V3}${family}:getStatuses?forceCheck=true`);
      expect(r.status).toBe(200);
      bodies.push(r.json.data);
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    const data = bodies[0];
    expect(Object.keys(data)).toEqual(['sip', 'iax']);
    const all = { ...data.sip, ...data.iax };
    expect(Object.keys(all).sort()).toEqual(
      sim.model
        .providers()
        .map((p) => p.id)
        .sort(),
    );
    const states = Object.values<any>(all).map((p) => p.state);
    expect(states).toContain('registered');
    expect(states).toContain('REGISTERED');
    expect(states).toContain('OFF');
    const off = Object.values<any>(all).find((p) => p.state === 'OFF');
    expect(off.rtt).toBeNull();
    for (const p of Object.values<any>(all)) {
      expect(Object.keys(p).slice(0, 14)).toEqual([
        'id',
        'type',
        'state',
        'stateText',
        'stateColor',
        'stateDescription',
        'host',
        'username',
        'description',
        'lastUpdate',
        'lastChange',
        'rtt',
        'stateDuration',
        'stateStartTime',
      ]);
    }
  });

  it('empty provider maps are [] (PHP decode/encode round trip)', async () => {
    const iax = sim.model.providers().filter((p) => p.type === 'iax');
    for (const p of iax) sim.model.deleteProvider(p.id);
    const r = await getJson(sim, `${V3}providers:getStatuses?forceCheck=true`);
    expect(r.json.data.iax).toEqual([]);
    expect(r.text).toContain('"iax":[]');
    for (const p of iax) sim.model.addProvider(p);
  });

  it('sip:getStatuses is [] when there are no extensions', async () => {
    const empty = await withSim({ extensions: 0, providers: 0 });
    try {
      const r = await getJson(empty, `${V3}sip:getStatuses`);
      expect(r.json.data).toEqual([]);
      const p = await getJson(empty, `${V3}providers:getStatuses`);
      expect(p.json.data).toEqual({ sip: [], iax: [] });
    } finally {
      await empty.close();
    }
  });

  it('sip-providers lists SIP and IAX, disabled only with includeDisabled=true', async () => {
    const r = await getJson(sim, `${V3}sip-providers`);
    const types = new Set(r.json.data.map((p: any) => p.type));
    expect(types).toEqual(new Set(['SIP', 'IAX']));
    expect(r.json.data.some((p: any) => p.disabled)).toBe(false);
    expect(r.json.data[0].type).toBe('IAX'); // type ASC
    const all = await getJson(sim, `${V3}sip-providers?includeDisabled=true`);
    expect(all.json.data.some((p: any) => p.disabled)).toBe(true);
    const notExact = await getJson(sim, `${V3}sip-providers?includeDisabled=1`);
    expect(notExact.json.data.some((p: any) => p.disabled)).toBe(false);
    expect(r.json.data[0].represent).toMatch(/^<i class="server icon"><\/i> IAX: /);
  });

  it('sip:getRegistry and iax:getRegistry are legacy-shaped', async () => {
    const sip = await getJson(sim, `${V3}sip:getRegistry`);
    expect(sip.json.data.map((r: any) => r.state)).toEqual(expect.arrayContaining(['REGISTERED', 'OFF']));
    const iax = await getJson(sim, `${V3}iax:getRegistry`);
    expect(iax.json.data[0]).toMatchObject({ state: 'Registered', noregister: '0' });
  });

  it('active calls are legs with string values, including ended legs of running calls', async () => {
    const r = await getJson(sim, `${V3}pbx-status:getActiveCalls`);
    expect(r.json.function).toBe('getActiveCalls');
    const rows = r.json.data as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['start', 'answer', 'endtime', 'src_num', 'src_name', 'dst_num', 'dst_name', 'did', 'linkedid']);
      for (const v of Object.values(row)) expect(typeof v).toBe('string');
      expect(row.start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
      expect(row.linkedid).toMatch(/^mikopbx-\d+\.\d+$/);
    }
    expect(rows.some((row) => row.endtime !== '')).toBe(true); // queue legs that stopped ringing
    expect(new Set(rows.map((row) => row.linkedid)).size).toBe(3);
  });

  it('active channels carry channel names of live legs only', async () => {
    const r = await getJson(sim, `${V3}pbx-status:getActiveChannels`);
    const rows = r.json.data as Record<string, string>[];
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['start', 'answer', 'src_chan', 'dst_chan', 'src_num', 'src_name', 'dst_num', 'dst_name', 'did', 'linkedid']);
      expect(row.src_chan).toMatch(/^(PJSIP\/[\w-]+-[0-9a-f]{8}|IAX2\/IAX-TRUNK-[0-9A-F]{8}-\d+)$/);
    }
    const truth = sim.model.truth();
    const chans = new Set(rows.flatMap((row) => [row.src_chan, row.dst_chan]));
    expect(chans.size).toBe(truth.activeChannels);
  });

  it('employees are wrapped as data.data', async () => {
    const r = await getJson(sim, `${V3}employees`);
    expect(Object.keys(r.json.data)).toEqual(['data', 'recordsTotal', 'recordsFiltered']);
    expect(r.json.data.data[0]).toEqual({
      id: 3,
      number: '201',
      user_username: 'Alice Smith',
      user_email: expect.any(String),
      mobile: expect.any(String),
      avatar: '/admin-cabinet/assets/img/unknownPerson.jpg',
      disabled: false,
    });
    const page = await getJson(sim, `${V3}employees?limit=2&offset=1`);
    expect(page.json.data.data.map((e: any) => e.number)).toEqual(['202', '203']);
    const search = await getJson(sim, `${V3}employees?search=${encodeURIComponent('number:205')}`);
    expect(search.json.data.recordsFiltered).toBe(1);
  });

  it('names with quotes, backslash, non-ASCII and newline survive the round trip', async () => {
    sim.model.addExtension({ number: '299', callerid: 'Line\nBreak "Q" \\ Ünï' });
    const r = await getJson(sim, `${V3}sip/299:getStatus`);
    expect(r.json.data.callerid).toBe('Line\nBreak "Q" \\ Ünï');
    expect(r.text).toContain('Line\\nBreak \\"Q\\" \\\\ \\u00dcn\\u00ef');
    sim.model.deleteExtension('299');
  });
});
