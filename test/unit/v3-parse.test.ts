import { describe, expect, it } from 'vitest';
import { unwrapV3 } from '../../src/api/v3-envelope.js';
import { PbxApiError } from '../../src/api/errors.js';
import { parseActiveChannels } from '../../src/api/calls-parse.js';
import { parseExtensionStatuses, parseProviderStatuses } from '../../src/api/v3-parse.js';
import { fixture, fixtureJson } from '../helpers/fixtures.js';

const res = (body: string, status = 200, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
  endpoint: '/pbxcore/api/v3/sip:getStatuses',
  status,
  body,
  headers,
});

describe('v3 envelope', () => {
  it('returns data and the PBX timestamp', () => {
    const env = unwrapV3(res(fixture('v3/sip-getStatuses.json')));
    expect(env.timestamp).toBe('2026-04-10T14:22:31+03:00');
  });

  it.each([
    ['401 as auth, naming the permission path', res(fixture('v3/unauthorized.json'), 401), 'auth', /read" permission for \/api\/v3\/sip/],
    ['404 as not-found', res('{"result":false}', 404), 'not-found', /does not exist/],
    ['422 as result with the PBX message', res('{"result":false,"messages":{"error":["Extension not found"]}}', 422), 'result', /Extension not found/],
    ['500 as http', res('oops', 500), 'http', /HTTP 500/],
    ['an HTML page with 200 as parse', res('<html><body>502</body></html>', 200, { 'content-type': 'text/html' }), 'parse', /HTML page/],
    ['truncated JSON as parse', res('{"result":true,"data":{"201":', 200), 'parse', /malformed or truncated/],
    ['result:false with 200 as result', res('{"result":false,"data":[],"messages":{"error":["boom"]}}'), 'result', /boom/],
    ['a JSON list as shape', res('[1,2]'), 'shape', /envelope/],
  ])('classifies %s', (_name, r, kind, message) => {
    let err: unknown;
    try {
      unwrapV3(r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PbxApiError);
    expect((err as PbxApiError).kind).toBe(kind);
    expect((err as PbxApiError).message).toMatch(message);
  });
});

describe('v3 parsers', () => {
  it('parses extensions keyed by number, with case-insensitive status and odd names; a Disabled one is left out', () => {
    const ext = parseExtensionStatuses(fixtureJson('v3/sip-getStatuses.json').data);
    // 205 is "Disabled": not an enabled extension, so not counted (contract §4 mikopbx_sip_peers).
    expect(ext.map((e) => [e.number, e.status])).toEqual([
      ['201', 'available'],
      ['202', 'unavailable'],
      ['203', 'available'],
      ['204', 'unknown'],
    ]);
    expect(parseExtensionStatuses({ 7: { extension: '7', status: ' disabled ' } })).toEqual([]);
    expect(ext[0]).toMatchObject({ name: 'Alice "Ali" Smith', rttSeconds: 0.01253, devices: 2 });
    expect(ext[1]).toMatchObject({ name: 'Bob\\Jones', rttSeconds: null, devices: 0 });
    expect(ext[2]?.name).toBe('Reception\nDesk');
    expect(ext[3]?.name).toBe('Алиса Иванова');
  });

  it('accepts [] for an empty map', () => {
    expect(parseExtensionStatuses([])).toEqual([]);
    expect(parseProviderStatuses({ sip: [], iax: [] })).toEqual([]);
  });

  it('parses SIP and IAX providers together, mapping mixed-case and unknown states', () => {
    const p = parseProviderStatuses(fixtureJson('v3/providers-getStatuses.json').data);
    expect(Object.fromEntries(p.map((x) => [x.id, [x.protocol, x.state]]))).toEqual({
      'SIP-TRUNK-3F9A1C7B': ['sip', 'registered'],
      'SIP-TRUNK-0A1B2C3D': ['sip', 'rejected'],
      'SIP-PROVIDER-34F7CCFE873B9DFF': ['sip', 'registered'],
      'SIP-1686130546': ['sip', 'off'],
      'SIP-TRUNK-5E5E5E5E': ['sip', 'unknown'],
      'IAX-TRUNK-7E6D5C4B': ['iax', 'ok'],
    });
    expect(p[0]).toMatchObject({ name: 'Carrier One', host: 'sip.carrier-one.example', username: '74951234567', rttSeconds: 0.023, stateSince: 1775733751 });
  });

  it('deduplicates a provider listed twice', () => {
    const one = { id: 'SIP-TRUNK-1', type: 'sip', state: 'registered' };
    expect(parseProviderStatuses({ sip: { 'SIP-TRUNK-1': one }, iax: { 'SIP-TRUNK-1': one } })).toHaveLength(1);
  });

  it('rejects the wrong shape with the path of the problem', () => {
    expect(() => parseExtensionStatuses('nope')).toThrow(/data/);
    expect(() => parseExtensionStatuses({ '201': { extension: '201', status: 5 } })).toThrow(/data\["201"\]\.status/);
    expect(() => parseProviderStatuses([])).toThrow(/expected an object/);
    expect(() => parseActiveChannels([{ src_chan: 'x' }])).toThrow(/linkedid/);
  });
});
