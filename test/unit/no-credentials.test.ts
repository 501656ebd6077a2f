import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWarnings, loadConfig } from '../../src/config.js';
import { startExporter } from '../../src/exporter.js';
import { PbxTarget } from '../../src/target.js';
import { captureLogger, fixture, testConfig } from '../helpers/fixtures.js';

// No MIKOPBX_API_KEY and no login: valid configuration (contract §2, "none" by default; an
// exporter on the PBX itself needs none), but from anywhere else MikoPBX answers 401.

const PBX = 'http://pbx.test';

describe('no credentials against a v3 PBX', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is not a configuration error', () => {
    const config = loadConfig({ MIKOPBX_URL: 'https://pbx.example.com' });
    expect(config.apiKey).toBeUndefined();
    expect(config.login).toBeUndefined();
  });

  it('a 401 says that no API key is configured, not that the PBX refused one, and sends no Authorization', async () => {
    // Without a key nothing is sent as Authorization: an empty Bearer would break the localhost bypass.
    nock(PBX, { badheaders: ['authorization'] })
      .get(/.*/)
      .times(3)
      .reply(401, fixture('v3/unauthorized.json'), { 'content-type': 'application/json' });
    const { logger, lines } = await captureLogger('info');
    const target = new PbxTarget({ config: testConfig({ apiKey: undefined, apiVersion: 'v3' }), logger });
    await target.runStatusPoll();
    target.close();
    const error = target.results.get('providers')?.error ?? '';
    expect(error).toMatch(/HTTP 401: no API key is configured.*only from 127\.0\.0\.1.*MIKOPBX_API_KEY_FILE/);
    expect(error).not.toMatch(/refused the API key/);
    const warns = lines.filter((l) => l.includes('"level":"warn"'));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/"reason":"auth".*no API key is configured/);
  });

  it('with a key, a 401 still says the key was refused', async () => {
    nock(PBX).get(/.*/).times(3).reply(401, fixture('v3/unauthorized.json'));
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ apiKey: 'e'.repeat(64), apiVersion: 'v3' }), logger });
    await target.runStatusPoll();
    target.close();
    expect(target.results.get('providers')?.error).toMatch(/refused the API key/);
  });

  it('the exporter logs that warning once at start', async () => {
    nock(PBX).get(/.*/).reply(401, fixture('v3/unauthorized.json')).persist();
    const { logger, lines } = await captureLogger('warn');
    const exporter = await startExporter(testConfig({ apiKey: undefined, apiVersion: 'v3' }), logger);
    await exporter.target.runStatusPoll();
    await exporter.stop();
    expect(lines.filter((l) => l.includes('no MIKOPBX_API_KEY (or MIKOPBX_LOGIN) is set'))).toHaveLength(1);
  });

  it('warns once at start when the PBX is not on this machine', () => {
    const warn = (url: string, extra: Record<string, string> = {}) => configWarnings(loadConfig({ MIKOPBX_URL: url, ...extra }));
    expect(warn('https://pbx.example.com')).toEqual([expect.stringMatching(/no MIKOPBX_API_KEY .* only from 127\.0\.0\.1.*MIKOPBX_API_KEY_FILE/)]);
    expect(warn('https://pbx.example.com', { MIKOPBX_API_VERSION: 'legacy' })).toEqual([expect.stringMatching(/MIKOPBX_LOGIN and MIKOPBX_PASSWORD_FILE/)]);
    expect(warn('http://10.0.0.5:8080')).toHaveLength(1);
    for (const local of ['http://localhost', 'http://127.0.0.1:8080', 'http://[::1]', 'http://127.1.2.3']) expect(warn(local), local).toEqual([]);
    expect(warn('https://pbx.example.com', { MIKOPBX_API_KEY: 'k'.repeat(64) })).toEqual([]);
    expect(warn('https://pbx.example.com', { MIKOPBX_LOGIN: 'admin', MIKOPBX_PASSWORD: 'secret' })).toEqual([]);
  });
});
