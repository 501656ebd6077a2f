import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { MIKOPBX_URL: 'https://pbx.example.com/', MIKOPBX_API_KEY: 'a'.repeat(64) };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      url: 'https://pbx.example.com',
      apiVersion: 'auto',
      tlsInsecureSkipVerify: false,
      timeoutSeconds: 10,
      pollIntervalSeconds: 30,
      cdrPollIntervalSeconds: 60,
      systemPollIntervalSeconds: 300,
      collectors: ['peers', 'providers', 'calls', 'cdr', 'system', 'queues', 'asterisk'],
      peerDetails: true,
      listenAddress: '0.0.0.0',
      listenPort: 10745,
      maxRequestsPerMinute: 60,
      logLevel: 'info',
    });
  });

  it('coerces booleans and numbers from strings', () => {
    const c = loadConfig({
      ...base,
      PEER_DETAILS: 'false',
      MIKOPBX_TLS_INSECURE_SKIP_VERIFY: 'true',
      POLL_INTERVAL_SECONDS: '5',
      MIKOPBX_TIMEOUT_SECONDS: '2.5',
    });
    expect(c.peerDetails).toBe(false);
    expect(c.tlsInsecureSkipVerify).toBe(true);
    expect(c.pollIntervalSeconds).toBe(5);
    expect(c.timeoutSeconds).toBe(2.5);
  });

  it('names the variable that is missing or wrong', () => {
    expect(errorOf({}).variable).toBe('MIKOPBX_URL');
    expect(errorOf({ MIKOPBX_URL: '' }).message).toMatch(/MIKOPBX_URL is required but not set/);
    expect(loadConfig({ ...base, MIKOPBX_LOGIN: '', POLL_INTERVAL_SECONDS: '' }).pollIntervalSeconds).toBe(30);
    expect(errorOf({ ...base, POLL_INTERVAL_SECONDS: '0' }).message).toMatch(/POLL_INTERVAL_SECONDS must be >= 1/);
    expect(errorOf({ ...base, CDR_POLL_INTERVAL_SECONDS: 'soon' }).variable).toBe('CDR_POLL_INTERVAL_SECONDS');
    expect(errorOf({ ...base, MIKOPBX_API_VERSION: 'v2' }).message).toMatch(/MIKOPBX_API_VERSION must be one of auto, v3, legacy/);
    expect(errorOf({ ...base, LISTEN_PORT: '70000' }).variable).toBe('LISTEN_PORT');
    expect(errorOf({ ...base, PEER_DETAILS: 'maybe' }).variable).toBe('PEER_DETAILS');
    expect(errorOf({ ...base, COLLECTORS: 'peers,quees' }).message).toMatch(/COLLECTORS has unknown collector\(s\) quees/);
    expect(errorOf({ ...base, MIKOPBX_URL: 'ftp://pbx' }).variable).toBe('MIKOPBX_URL');
    expect(errorOf({ ...base, MIKOPBX_URL: 'https://admin:pw@pbx' }).variable).toBe('MIKOPBX_URL');
    expect(errorOf({ ...base, LOG_LEVEL: 'loud' }).variable).toBe('LOG_LEVEL');
  });

  it('reads secrets from *_FILE, stripping one trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'key'), `${'b'.repeat(64)}\n`);
    writeFileSync(join(dir, 'pw'), 'p@ss word\n');
    const c = loadConfig({ MIKOPBX_URL: 'http://10.0.0.5:8080', MIKOPBX_API_KEY_FILE: join(dir, 'key') });
    expect(c.apiKey).toBe('b'.repeat(64));
    const l = loadConfig({ MIKOPBX_URL: 'http://10.0.0.5', MIKOPBX_LOGIN: 'admin', MIKOPBX_PASSWORD_FILE: join(dir, 'pw') });
    expect(l.password).toBe('p@ss word');
    expect(errorOf({ MIKOPBX_URL: 'http://x', MIKOPBX_API_KEY_FILE: join(dir, 'missing') }).variable).toBe('MIKOPBX_API_KEY_FILE');
    expect(errorOf({ ...base, MIKOPBX_API_KEY_FILE: join(dir, 'key') }).message).toMatch(/both set/);
  });

  it('requires login and password together, and a PEM CA file', () => {
    expect(errorOf({ MIKOPBX_URL: 'http://x', MIKOPBX_LOGIN: 'admin' }).variable).toBe('MIKOPBX_PASSWORD');
    expect(errorOf({ MIKOPBX_URL: 'http://x', MIKOPBX_PASSWORD: 'pw' }).variable).toBe('MIKOPBX_LOGIN');
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'ca.pem'), 'not a certificate');
    expect(errorOf({ ...base, MIKOPBX_CA_FILE: join(dir, 'ca.pem') }).variable).toBe('MIKOPBX_CA_FILE');
  });

  it('never puts a secret into an error message', () => {
    const key = 'c'.repeat(30) + ' ' + 'd'.repeat(33);
    const e = errorOf({ MIKOPBX_URL: 'http://x', MIKOPBX_API_KEY: key });
    expect(e.message).not.toContain('cccc');
  });
});
