import { describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import { parseData } from '../../src/api/envelope.js';
import { unwrapLegacy } from '../../src/api/legacy-envelope.js';
import { legacyIaxState, legacyPeerStatus } from '../../src/api/mapping.js';
import { legacyRows, parseLegacyActiveCalls, parseLegacyActiveChannels, parseLegacyPeers, parseLegacyRegistry } from '../../src/api/legacy-parse.js';
import { PROVIDER_STATES } from '../../src/api/types.js';
import { summariseActiveCalls } from '../../src/collectors/calls.js';
import { fixture, fixtureJson } from '../helpers/fixtures.js';

const res = (body: string, status = 200, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
  endpoint: '/pbxcore/api/sip/getPeersStatuses',
  status,
  body,
  headers,
});

function errorOf(fn: () => unknown): PbxApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PbxApiError);
    return e as PbxApiError;
  }
  throw new Error('expected a PbxApiError');
}

describe('legacy envelope', () => {
  it('returns data and the PBX timestamp of a jsonapi answer', () => {
    const env = unwrapLegacy(res(fixture('legacy/peers.json')));
    expect(env.timestamp).toBe('2024-05-20T08:23:02+03:00');
    expect(Array.isArray(env.data)).toBe(true);
  });

  it.each([
    [
      'HTTP 200 with result:false as result, with the PBX message',
      res(fixture('legacy/result-false.json')),
      'result',
      /result:false: Asterisk Manager is not available/,
    ],
    ['401 with an errors list as auth', res(fixture('legacy/unauthorized.json'), 401), 'auth', /refused the web-admin session.*isn't authenticated/],
    ['403 (ACL) as auth, asking for an administrator', res(fixture('legacy/forbidden.json'), 403), 'auth', /The route is not allowed.*administrator/],
    ['404 as not-found', res(fixture('legacy/not-found.json'), 404), 'not-found', /does not exist on this PBX/],
    ['500 (worker timeout) as http', res(fixture('legacy/server-error.json'), 500), 'http', /HTTP 500.*Internal Server Error.*did not answer in time/],
    ['an errors list with HTTP 200 as result', res('{"jsonapi":{"version":"1.0"},"errors":["odd"]}'), 'result', /answered errors: odd/],
    ['a redirect as http, naming the target', res('', 302, { location: 'https://pbx.test/' }), 'http', /redirect to https:\/\/pbx.test\//],
    ['the HTML login page as parse', res('<!DOCTYPE html><html>login</html>', 200, { 'content-type': 'text/html' }), 'parse', /HTML page/],
    ['a 200 without data as shape', res('{"jsonapi":{"version":"1.0"},"result":true}'), 'shape', /no data/],
  ])('classifies %s', (_name, r, kind, message) => {
    const err = errorOf(() => unwrapLegacy(r));
    expect(err.kind).toBe(kind);
    expect(err.message).toMatch(message);
  });
});

describe('legacy peers', () => {
  it('drops trunk endpoints, merges NNN-WS into NNN (OK wins), maps OK/UNKNOWN', () => {
    const ext = parseLegacyPeers(fixtureJson('legacy/peers.json').data);
    expect(ext.map((e) => [e.number, e.status, e.correctableByLiveChannel])).toEqual([
      ['201', 'available', false],
      ['202', 'unavailable', true],
      ['203', 'available', false],
      ['204', 'unavailable', true],
      ['205', 'available', false],
    ]);
    expect(ext.every((e) => e.name === '' && e.rttSeconds === null && e.devices === null)).toBe(true);
  });

  it('never counts a trunk endpoint as an extension, whatever its id format', () => {
    const data = [
      { id: 'SIP-TRUNK-3F9A1C7B', state: 'OK' },
      { id: 'SIP-1601534775', state: 'UNKNOWN' },
      { id: 'SIP-PROVIDER-34F7CCFE873B9DFF', state: 'OK' },
      { id: 'IAX-TRUNK-7E6D5C4B', state: 'OK' },
      { id: 201, state: 'ok' },
    ];
    expect(parseLegacyPeers(data).map((e) => e.number)).toEqual(['201']);
  });

  it('maps states case-insensitively; only UNKNOWN is correctable by a live channel', () => {
    expect(legacyPeerStatus('ok')).toEqual({ status: 'available', correctable: false });
    expect(legacyPeerStatus('Unknown')).toEqual({ status: 'unavailable', correctable: true });
    expect(legacyPeerStatus('Busy')).toEqual({ status: 'unknown', correctable: false });
  });

  it('rejects a non-list answer with the path', () => {
    expect(() => parseData('/pbxcore/api/sip/getPeersStatuses', () => parseLegacyPeers('x'))).toThrow(/unexpected answer shape at data/);
  });
});

describe('legacy providers', () => {
  it('parses sip/getRegistry: uppercase states, OFF, no description', () => {
    const p = parseLegacyRegistry(fixtureJson('legacy/sip-registry.json').data, 'sip');
    expect(p.map((x) => [x.id, x.state, x.protocol, x.host, x.username, x.name])).toEqual([
      ['SIP-TRUNK-3F9A1C7B', 'registered', 'sip', 'sip.carrier-one.example', '74951234567', ''],
      ['SIP-1601534775', 'off', 'sip', 'sip.zadarma.com', '316811', ''],
      ['SIP-1601534845', 'ok', 'sip', '10.0.0.5', '316', ''],
      ['SIP-PROVIDER-A1B2C3D4E5F60718', 'registered', 'sip', '', 'branch-office', ''],
      ['SIP-TRUNK-0A1B2C3D', 'rejected', 'sip', 'voip.carrier-two.example', '100200', ''],
    ]);
    expect(p.every((x) => x.rttSeconds === null && x.stateSince === null)).toBe(true);
  });

  it('parses iax/getRegistry: raw AMI states and the time-response of noregister peers', () => {
    const p = parseLegacyRegistry(fixtureJson('legacy/iax-registry.json').data, 'iax');
    expect(p.map((x) => [x.id, x.state, x.protocol, x.rttSeconds])).toEqual([
      ['IAX-TRUNK-7E6D5C4B', 'registered', 'iax', null],
      ['IAX-1601535000', 'ok', 'iax', 0.015],
      ['IAX-TRUNK-11223344', 'unregistered', 'iax', null],
      ['IAX-TRUNK-55667788', 'off', 'iax', null],
    ]);
  });

  // The same mapping as v3's AbstractProviderStatusAction, so an upgrade does not change states.
  it.each([
    ['Registered', false, 'registered'],
    ['Request Sent', false, 'unregistered'],
    ['Auth. Sent', false, 'unregistered'],
    ['Rejected', false, 'rejected'],
    ['Timeout', false, 'unregistered'],
    ['No Authentication', false, 'unregistered'],
    ['Unregistered', false, 'unregistered'],
    ['Unknown', false, 'unregistered'],
    ['Error register.', false, 'unregistered'],
    ['OFF', false, 'off'],
    ['OK', true, 'ok'],
    ['UNREACHABLE', true, 'unreachable'],
    ['LAGGED', true, 'lagged'],
    ['UNKNOWN', true, 'unknown'],
    ['UNMONITORED', true, 'unknown'],
    ['OFF', true, 'off'],
    ['Registered', null, 'registered'],
    ['Request Sent', null, 'unknown'],
  ] as const)('IAX %j (noregister %j) is %s', (raw, noregister, state) => {
    expect(legacyIaxState(raw, noregister)).toBe(state);
  });

  it('never produces a state outside the contract set', () => {
    for (const raw of ['Registered', 'weird', '', 'Error register.', 'UNMONITORED']) {
      for (const nr of [true, false, null]) expect(PROVIDER_STATES).toContain(legacyIaxState(raw, nr));
    }
  });
});

describe('legacy active calls', () => {
  it('decodes the JSON string that cdr/getActiveCalls puts inside data', () => {
    const legs = parseLegacyActiveCalls(fixtureJson('legacy/active-calls.json').data);
    expect(legs).toHaveLength(4);
    expect(legs[0]).toEqual({ linkedid: 'mikopbx-1716190707.24', srcChannel: null, dstChannel: null, srcNum: '202', dstNum: '203', ended: false });
    expect(legs[2]?.ended).toBe(true);
    // No channel names: numbers decide direction; an ended leg of a running call is still that call.
    const s = summariseActiveCalls({ legs, hasChannels: false }, [], new Set(['201', '202', '203', '204', '205']));
    expect(s.byDirection).toEqual({ inbound: 1, outbound: 1, internal: 1 });
    expect(s.channels).toBe(0);
    // Internal numbers on live legs mark phones in a call (205's leg has ended).
    expect([...s.liveExtensions].sort()).toEqual(['201', '202', '203', '204']);
  });

  it('treats [] (the PBX 2 s timeout) and an empty string as no calls, and plain rows as rows', () => {
    expect(parseLegacyActiveCalls([])).toEqual([]);
    expect(parseLegacyActiveCalls([''])).toEqual([]);
    expect(parseLegacyActiveCalls(['[]'])).toEqual([]);
    expect(legacyRows([{ linkedid: 'a' }])).toEqual([{ linkedid: 'a' }]);
  });

  it('reports a string that is not JSON, or decodes to a non-list, as a shape error', () => {
    expect(() => parseData('/pbxcore/api/cdr/getActiveCalls', () => parseLegacyActiveCalls(['[{"linkedid":']))).toThrow(
      /data\[0\]: expected a JSON-encoded list/,
    );
    expect(() => parseData('/pbxcore/api/cdr/getActiveCalls', () => parseLegacyActiveCalls(['"x"']))).toThrow(/decoded/);
  });

  it('parses cdr/getActiveChannels with channel names', () => {
    const legs = parseLegacyActiveChannels(fixtureJson('legacy/active-channels.json').data);
    expect(legs.map((l) => [l.srcChannel, l.dstChannel])).toEqual([
      ['PJSIP/SIP-TRUNK-3F9A1C7B-0000012a', 'PJSIP/204-0000012b'],
      ['PJSIP/201-00000131', 'PJSIP/203-00000132'],
    ]);
  });
});
