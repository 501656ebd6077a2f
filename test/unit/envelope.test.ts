import { describe, expect, it } from 'vitest';
import { permissionPathOf, unwrapV3 } from '../../src/api/v3-envelope.js';
import { PbxApiError } from '../../src/api/errors.js';
import { fixture } from '../helpers/fixtures.js';

describe('v3 401: which endpoint was refused and which permission the key needs', () => {
  it.each([
    ['/pbxcore/api/v3/sip:getStatuses', '/api/v3/sip'],
    ['/pbxcore/api/v3/sip/201:getStatus', '/api/v3/sip'],
    ['/pbxcore/api/v3/sip-providers:getStatuses', '/api/v3/sip-providers'],
    ['/pbxcore/api/v3/sip-providers/SIP-TRUNK-3F9A1C7B:getStatus', '/api/v3/sip-providers'],
    ['/pbxcore/api/v3/pbx-status:getActiveChannels', '/api/v3/pbx-status'],
    ['/pbxcore/api/v3/cdr', '/api/v3/cdr'],
    ['/pbxcore/api/v3/cdr:getStatsByProvider', '/api/v3/cdr'],
    ['/pbxcore/api/v3/employees/12', '/api/v3/employees'],
  ])('%s needs read on %s', (endpoint, permission) => {
    expect(permissionPathOf(endpoint)).toBe(permission);
    let error: unknown;
    try {
      unwrapV3({ endpoint, status: 401, body: fixture('v3/unauthorized.json'), headers: { 'content-type': 'application/json' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PbxApiError);
    expect((error as PbxApiError).kind).toBe('auth');
    expect((error as Error).message).toContain(`refused the API key for ${endpoint}`);
    expect((error as Error).message).toContain(`"read" permission for ${permission} `);
  });
});

describe('bad 200 answers are told apart', () => {
  const unwrap = (body: string, type = 'application/json') => {
    try {
      unwrapV3({ endpoint: '/pbxcore/api/v3/sip:getStatuses', status: 200, body, headers: { 'content-type': type } });
    } catch (e) {
      return e as PbxApiError;
    }
    throw new Error('expected an error');
  };
  it('a PHP warning printed before the JSON', () => {
    const e = unwrap(`<br />\n<b>Warning</b>:  Undefined array key "x" in <b>/usr/www/a.php</b> on line <b>87</b><br />\n${fixture('v3/empty.json')}`);
    expect(e.kind).toBe('parse');
    expect(e.message).toMatch(/PHP warning printed before the JSON/);
  });
  it('an HTML page', () => {
    expect(unwrap('<!DOCTYPE html><html></html>', 'text/html').message).toMatch(/HTML page instead of JSON/);
  });
  it('truncated JSON and an empty body', () => {
    expect(unwrap('{"result":true,"da').message).toMatch(/malformed or truncated JSON/);
    expect(unwrap('').message).toMatch(/an empty body/);
  });
  it('result:false and the wrong shape', () => {
    expect(unwrap('{"result":false,"messages":{"error":["boom"]}}').kind).toBe('result');
    expect(unwrap('[1,2]').kind).toBe('shape');
    expect(unwrap('{"result":true}').kind).toBe('shape');
  });
});
