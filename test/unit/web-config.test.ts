import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { BasicAuth } from '../../src/http/basic-auth.js';
import { TokenBucket } from '../../src/http/rate-limit.js';
import { loadWebConfig } from '../../src/http/web-config.js';
import { SecretScrubber } from '../../src/secrets.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';

// PHP's password_hash() example, "$2y$" exactly as `htpasswd -B` writes it.
const HTPASSWD_HASH = '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a';
const HTPASSWD_PASSWORD = 'rasmuslerdorf';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('WEB_CONFIG_FILE parsing (exporter-toolkit format)', () => {
  let pki: TestPki;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const error = (path: string): string => {
    try {
      loadWebConfig(path);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  beforeAll(() => {
    pki = makeTestPki();
    dir = pki.dir;
  });

  it('reads TLS, basic auth, headers and rate limit; relative paths are relative to the file', () => {
    const p = file(
      'good.yml',
      `tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: '${HTPASSWD_HASH}'
rate_limit:
  interval: 100ms
  burst: 5
`,
    );
    const cfg = loadWebConfig(p);
    expect(cfg.tls?.cert).toBe(pki.serverCert);
    expect(cfg.tls?.clientAuth).toBe('RequireAndVerifyClientCert');
    expect(cfg.tls?.minVersion).toBe('TLSv1.3');
    expect(cfg.tls?.ciphers).toBe('ECDHE-RSA-AES128-GCM-SHA256');
    expect(cfg.tls?.ecdhCurve).toBe('X25519:P-256');
    expect(cfg.users.get('prometheus')).toBe(HTPASSWD_HASH);
    expect(cfg.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
    expect(cfg.rateLimit).toEqual({ intervalMs: 100, burst: 5 });
    expect(cfg.files).toContain(pki.files.serverKey);
  });

  it('an empty file means plain HTTP without auth', () => {
    const cfg = loadWebConfig(file('empty.yml', '# nothing\n'));
    expect(cfg.tls).toBeUndefined();
    expect(cfg.users.size).toBe(0);
  });

  it.each([
    ['missing file', null, /WEB_CONFIG_FILE \(.*nope\.yml\): cannot be read \(ENOENT\)/],
    ['not YAML', 'basic_auth_users: [unclosed\n', /is not valid YAML/],
    [
      'unknown top-level key',
      'basic_auth_user:\n  a: b\n',
      /unknown key basic_auth_user \(allowed: tls_server_config, http_server_config, basic_auth_users, rate_limit\)/,
    ],
    ['unknown TLS key', 'tls_server_config:\n  certfile: x\n', /unknown key tls_server_config\.certfile/],
    ['plain-text password', 'basic_auth_users:\n  prometheus: secret\n', /basic_auth_users\.prometheus is not a bcrypt hash/],
    ['truncated hash', `basic_auth_users:\n  p: '${HTPASSWD_HASH.slice(0, 40)}'\n`, /is not a bcrypt hash/],
    ['header not allowed', 'http_server_config:\n  headers:\n    X-Powered-By: me\n', /unknown key http_server_config\.headers\.X-Powered-By/],
    ['bad header value', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /X-Frame-Options must be one of deny, sameorigin/],
    ['missing cert file', 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n', /cert_file .*missing\.crt cannot be read \(ENOENT\)/],
    ['key without cert', 'tls_server_config:\n  key_file: server.key\n', /missing one of cert or cert_file/],
    [
      'bad TLS version',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS1.2\n',
      /min_version "TLS1.2" is not one of TLS10, TLS11, TLS12, TLS13/,
    ],
    [
      'client CA without policy',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n',
      /client CA is configured without a client_auth_type/,
    ],
    [
      'bad client auth',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Always\n',
      /client_auth_type "Always" is not one of/,
    ],
    ['bad duration', 'rate_limit:\n  interval: soon\n  burst: 1\n', /rate_limit\.interval "soon" is not a duration/],
    ['duplicate key', 'basic_auth_users:\n  a: x\nbasic_auth_users:\n  b: y\n', /not valid YAML/],
  ])('%s → one clear ConfigError naming WEB_CONFIG_FILE', (_name, text, message) => {
    const p = text === null ? join(dir, 'nope.yml') : file(`bad-${Math.random().toString(36).slice(2)}.yml`, text);
    const msg = error(p);
    expect(msg).toMatch(/^invalid configuration: WEB_CONFIG_FILE /);
    expect(msg).toMatch(message);
  });

  it('rejects a certificate file that is not a certificate, and a key that does not match', () => {
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate\n');
    expect(error(file('junk.yml', 'tls_server_config:\n  cert_file: junk.crt\n  key_file: server.key\n'))).toMatch(/not a valid PEM certificate/);
    expect(error(file('mismatch.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n'))).toMatch(/do not belong together/);
  });
});

describe('basic auth', () => {
  it('accepts the right password of an htpasswd $2y$ hash and refuses wrong ones', async () => {
    const auth = new BasicAuth(new Map([['prometheus', HTPASSWD_HASH]]));
    expect(await auth.check(basic('prometheus', HTPASSWD_PASSWORD))).toBe(true);
    expect(await auth.check(basic('prometheus', 'wrong'))).toBe(false);
    expect(await auth.check(basic('someone', HTPASSWD_PASSWORD))).toBe(false);
    expect(await auth.check(undefined)).toBe(false);
    expect(await auth.check('Bearer abc')).toBe(false);
    expect(await auth.check('Basic !!!')).toBe(false);
    expect(await auth.check(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBe(false);
  });

  it('$2a$ and $2b$ hashes verify too', async () => {
    const b = await bcrypt.hash('pw-2b-test', 4);
    const auth = new BasicAuth(
      new Map([
        ['b', b],
        ['a', `$2a$${b.slice(4)}`],
      ]),
    );
    expect(await auth.check(basic('b', 'pw-2b-test'))).toBe(true);
    expect(await auth.check(basic('a', 'pw-2b-test'))).toBe(true);
  });

  it('caches verdicts, so a scrape every 15 s does not pay bcrypt each time', async () => {
    const hash = await bcrypt.hash('slow-password', 12); // ~0.3 s per verification
    const auth = new BasicAuth(new Map([['p', hash]]));
    let t = performance.now();
    expect(await auth.check(basic('p', 'slow-password'))).toBe(true);
    const first = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 20; i++) expect(await auth.check(basic('p', 'slow-password'))).toBe(true);
    const twenty = performance.now() - t;
    expect(twenty).toBeLessThan(first / 4);
    // A changed user list drops the cache.
    auth.setUsers(new Map([['p', await bcrypt.hash('other', 4)]]));
    expect(await auth.check(basic('p', 'slow-password'))).toBe(false);
  });

  it('registers a verified password as a secret, so it is scrubbed from logs', async () => {
    const secrets = new SecretScrubber();
    const auth = new BasicAuth(new Map([['prometheus', HTPASSWD_HASH]]), { secrets });
    await auth.check(basic('prometheus', HTPASSWD_PASSWORD));
    expect(secrets.scrub(`password=${HTPASSWD_PASSWORD}`)).toBe('password=[REDACTED]');
  });

  it('rate limit: a token bucket with burst', () => {
    let t = 0;
    const b = new TokenBucket(1000, 2, () => t);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    t += 1000;
    expect([b.take(), b.take()]).toEqual([true, false]);
  });
});
