import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadFleetSettings } from '../../src/config.js';
import { loadTargetsFile } from '../../src/fleet/targets-file.js';

let dir: string;
const defaults = () => (loadFleetSettings({ TARGETS_FILE: '/x' }) as NonNullable<ReturnType<typeof loadFleetSettings>>).defaults;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problem(text: string, env: NodeJS.ProcessEnv = {}): string {
  const file = write('bad.yaml', text);
  try {
    loadTargetsFile(file, defaults(), env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).variable).toBe('TARGETS_FILE');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'targets-'));
  writeFileSync(join(dir, 'office.key'), `${'a'.repeat(64)}\n`);
  writeFileSync(join(dir, 'pw'), 'Secret-1');
});

describe('the targets file', () => {
  it('reads the documented shape: auth modules by reference, labels, overrides over the environment defaults', () => {
    const file = write(
      'ok.yaml',
      `auth_modules:
  office-key: { api_key_file: ${dir}/office.key }
  old-admin:  { login: admin, password_file: ${dir}/pw }
  env-key: { api_key_env: ACME_KEY }
targets:
  - name: acme-hq
    url: https://pbx.acme.example/
    auth: office-key
    labels: { customer: acme }
  - name: old-branch
    url: http://10.0.0.7
    auth: old-admin
    api_version: legacy
    poll_interval_seconds: 60
    collectors: [peers, providers]
    tls: { insecure_skip_verify: true }
  - name: env.one
    url: https://pbx.env.example
    auth: env-key
    collectors: peers,calls
`,
    );
    const [hq, old, viaEnv] = loadTargetsFile(file, defaults(), { ACME_KEY: 'b'.repeat(64) });
    expect(hq).toMatchObject({
      name: 'acme-hq',
      labels: { customer: 'acme' },
      config: { url: 'https://pbx.acme.example', apiKey: 'a'.repeat(64), pollIntervalSeconds: 30, apiVersion: 'auto' },
    });
    expect(hq?.config.collectors).toEqual(['peers', 'providers', 'calls', 'cdr', 'system', 'queues', 'asterisk']);
    expect(old?.config).toMatchObject({
      login: 'admin',
      password: 'Secret-1',
      apiKey: undefined,
      apiVersion: 'legacy',
      pollIntervalSeconds: 60,
      collectors: ['peers', 'providers'],
      tlsInsecureSkipVerify: true,
    });
    expect(viaEnv?.config).toMatchObject({ apiKey: 'b'.repeat(64), collectors: ['peers', 'calls'] });
  });

  it('gives a target an AMI session from a login auth module', () => {
    const file = write(
      'ami.yaml',
      `auth_modules:
  k: { api_key_file: ${dir}/office.key }
  ami-login: { login: exporter, password_file: ${dir}/pw }
targets:
  - name: callcentre
    url: https://cc.example
    auth: k
    ami: { auth: ami-login, port: 5039, tls: true }
    queue_member_details: true
  - name: plain
    url: https://plain.example
    auth: k
`,
    );
    const [cc, plain] = loadTargetsFile(file, defaults(), {});
    expect(cc?.config).toMatchObject({
      amiUser: 'exporter',
      amiPassword: 'Secret-1',
      amiHost: undefined,
      amiPort: 5039,
      amiTls: true,
      queueMemberDetails: true,
    });
    expect(plain?.config).toMatchObject({ amiUser: undefined, amiPassword: undefined, queueMemberDetails: false });
    // MIKOPBX_AMI_PORT and MIKOPBX_AMI_TLS are every target's defaults.
    const fleetDefaults = (
      loadFleetSettings({ TARGETS_FILE: '/x', MIKOPBX_AMI_PORT: '15038', MIKOPBX_AMI_TLS: 'true' }) as NonNullable<ReturnType<typeof loadFleetSettings>>
    ).defaults;
    writeFileSync(file, readFileSync(file, 'utf8').replace('ami: { auth: ami-login, port: 5039, tls: true }', 'ami: { auth: ami-login }'));
    expect(loadTargetsFile(file, fleetDefaults, {})[0]?.config).toMatchObject({ amiPort: 15038, amiTls: true });
    const head = `auth_modules:\n  k: { api_key_file: ${dir}/office.key }\ntargets:\n  - name: a\n    url: https://a.example\n`;
    expect(problem(`${head}    ami: { auth: k }\n`)).toMatch(
      /line 6: targets\[0\]\.ami\.auth names the auth module k, which has an API key; AMI needs a login/,
    );
    expect(problem(`${head}    ami: { auth: nope }\n`)).toMatch(/line 6: targets\[0\]\.ami\.auth names the auth module nope/);
    expect(problem(`${head}    ami: { auth: k, port: 0 }\n`)).toMatch(/line 6: targets\[0\]\.ami\.port must be >= 1/);
  });

  it('fingerprints change with settings and credentials, not with labels', () => {
    const text = (key: string, interval: number, customer: string) => `auth_modules:
  k: { api_key_env: KEY }
targets:
  - { name: a, url: "https://a.example", auth: k, poll_interval_seconds: ${interval}, labels: { customer: ${customer} } }
`;
    const fp = (key: string, interval: number, customer: string) =>
      loadTargetsFile(write('fp.yaml', text(key, interval, customer)), defaults(), { KEY: key })[0]?.fingerprint;
    const base = fp('k1', 30, 'x');
    expect(fp('k1', 30, 'y')).toBe(base);
    expect(fp('k2', 30, 'x')).not.toBe(base);
    expect(fp('k1', 31, 'x')).not.toBe(base);
    // The hash never holds the secret itself.
    expect(base).not.toContain('k1');
  });

  it('names the file and the line of every problem', () => {
    const head = `auth_modules:\n  k: { api_key_file: ${dir}/office.key }\ntargets:\n`;
    expect(problem(`${head}  - name: a\n    url: https://a.example\n    auth: k\n    poll_intervall_seconds: 5\n`)).toMatch(
      /line 7: targets\[0\]\.poll_intervall_seconds is not a known key/,
    );
    expect(problem(`${head}  - name: a\n    url: https://a.example\n    poll_interval_seconds: 0\n`)).toMatch(
      /line 6: targets\[0\]\.poll_interval_seconds must be >= 1/,
    );
    expect(problem(`${head}  - name: Acme HQ\n    url: https://a.example\n`)).toMatch(/line 4: targets\[0\]\.name must be lower-case/);
    expect(problem(`${head}  - name: a\n    url: https://a.example\n  - name: a\n    url: https://b.example\n`)).toMatch(
      /line 6: targets\[1\]\.name repeats the name a of targets\[0\]/,
    );
    expect(problem(`${head}  - name: a\n    url: https://a.example\n    auth: nope\n`)).toMatch(
      /line 6: targets\[0\]\.auth names the auth module nope, which auth_modules does not define/,
    );
    expect(problem(`${head}  - name: a\n    url: ftp://a.example\n`)).toMatch(/line 5: targets\[0\]\.url must start with http/);
    expect(problem(`${head}  - name: a\n    url: https://admin:pw@a.example\n`)).toMatch(/line 5: targets\[0\]\.url must not contain credentials/);
    expect(problem(`${head}  - name: a\n`)).toMatch(/line 4: targets\[0\] is missing url/);
    expect(problem(`${head}  - name: a\n    url: https://a.example\n    collectors: [peers, quees]\n`)).toMatch(
      /line 6: targets\[0\]\.collectors has unknown collector\(s\) quees/,
    );
    expect(problem(`${head}  - name: a\n    url: https://a.example\n    labels: { instance: x }\n`)).toMatch(/line 6: .*not instance or job/);
    expect(problem(`auth_modules:\n  k: { api_key_file: ${dir}/missing.key }\ntargets: []\n`)).toMatch(
      /line 2: auth_modules\.k\.api_key_file names a file that cannot be read \(ENOENT/,
    );
    expect(problem(`auth_modules:\n  k: { api_key_env: NOT_SET }\ntargets: []\n`)).toMatch(
      /line 2: auth_modules\.k\.api_key_env names the variable NOT_SET, which is not set/,
    );
    expect(problem(`auth_modules:\n  k: { login: admin }\ntargets: []\n`)).toMatch(/line 2: .*password.* is required when auth_modules\.k\.login is set/);
    expect(problem(`auth_modules:\n  k: { api_key: inline }\ntargets: []\n`)).toMatch(/line 2: auth_modules\.k\.api_key is not a known key/);
    expect(problem(`targets:\n  - name: a\n    url: [x\n`)).toMatch(/line \d: not valid YAML/);
    expect(
      problem(`targets:\n  - { name: a, url: "https://a", api_version: legacy, auth: k }\nauth_modules:\n  k: { api_key_file: ${dir}/office.key }\n`),
    ).toMatch(/line 2: targets\[0\]\.api_version is legacy/);
  });

  it('keeps secrets out of every message', () => {
    const message = problem(`auth_modules:\n  k: { api_key_env: KEY }\ntargets:\n  - { name: a, url: "https://a", auth: nope }\n`, {
      KEY: 'supersecretkey'.repeat(4),
    });
    expect(message).not.toContain('supersecretkey');
  });
});

describe('fleet settings', () => {
  it('forbid a PBX url or credentials beside TARGETS_FILE, and fleet settings without it', () => {
    expect(() => loadFleetSettings({ TARGETS_FILE: '/t.yaml', MIKOPBX_URL: 'https://x' })).toThrow(/MIKOPBX_URL must not be set with TARGETS_FILE/);
    expect(() => loadFleetSettings({ TARGETS_FILE: '/t.yaml', MIKOPBX_API_KEY_FILE: '/k' })).toThrow(/MIKOPBX_API_KEY_FILE must not be set/);
    expect(() => loadFleetSettings({ SHARD: '0/2' })).toThrow(/SHARD is a fleet-mode setting/);
    expect(loadFleetSettings({ MIKOPBX_URL: 'https://x' })).toBeNull();
    expect(loadFleetSettings({ TARGETS_FILE: '/t.yaml', POLL_INTERVAL_SECONDS: '45' })).toMatchObject({
      targetsFile: '/t.yaml',
      maxRequestsInFlight: 32,
      defaults: { pollIntervalSeconds: 45 },
    });
  });
});
