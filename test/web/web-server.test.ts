import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { FakeClock, httpGet, seen, startHarness, type Harness } from '../helpers/harness.js';
import { ensureBuilt, runMain } from '../helpers/main-process.js';
import { sample } from '../helpers/exposition.js';
import { SIM_API_KEY, startSim, type Simulator } from '../helpers/sim.js';

const KEY = SIM_API_KEY;
const USER = 'prometheus';
const PASSWORD = 'scrape-Me-0nly';
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('/metrics protection by WEB_CONFIG_FILE', () => {
  let pki: TestPki;
  let pbx: Simulator;
  let hash: string;
  let h: Harness | undefined;
  const writeConfig = (name: string, text: string) => {
    const p = join(pki.dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    pki = makeTestPki();
    pbx = await startSim(new FakeClock());
    hash = await bcrypt.hash(PASSWORD, 4);
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(async () => {
    await pbx.close();
  });

  it('TLS + basic auth: handshake with the generated certificate, right and wrong passwords, open probes', async () => {
    const file = writeConfig(
      'tls-auth.yml',
      `tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  ${USER}: ${hash}
`,
    );
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file });
    expect(h.exporter.tls).toBe(true);
    const base = `https://127.0.0.1:${h.exporter.port}`;
    const ca = pki.caCert;

    // Probes stay open.
    expect((await httpGet(`${base}/healthz`, { ca })).status).toBe(200);
    expect((await httpGet(`${base}/readyz`, { ca })).status).toBe(200);

    const none = await httpGet(`${base}/metrics`, { ca });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="mikopbx-exporter"');
    expect(none.headers['x-content-type-options']).toBe('nosniff');
    expect(none.text).not.toContain('mikopbx_up');
    expect((await httpGet(`${base}/metrics`, { ca, headers: basic(USER, 'wrong') })).status).toBe(401);
    expect((await httpGet(`${base}/metrics`, { ca, headers: basic('admin', PASSWORD) })).status).toBe(401);
    expect((await httpGet(`${base}/`, { ca })).status).toBe(401);

    const ok = await httpGet(`${base}/metrics`, { ca, headers: basic(USER, PASSWORD) });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('mikopbx_up 1');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    seen.pages.push(ok.text);
    const landing = await httpGet(`${base}/`, { ca, headers: basic(USER, PASSWORD) });
    expect(landing.status).toBe(200);
    seen.pages.push(landing.text);

    // The certificate is checked for real: no CA, no connection; plain HTTP gets nothing either.
    await expect(httpGet(`${base}/healthz`)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    await expect(httpGet(`http://127.0.0.1:${h.exporter.port}/healthz`)).rejects.toThrow();
  });

  it('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const file = writeConfig('tls13.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n');
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file });
    const base = `https://127.0.0.1:${h.exporter.port}`;
    expect((await httpGet(`${base}/metrics`, { ca: pki.caCert })).status).toBe(200);
    await expect(httpGet(`${base}/metrics`, { ca: pki.caCert, tls: { maxVersion: 'TLSv1.2' } })).rejects.toThrow();
  });

  it('RequireAndVerifyClientCert: only clients with a certificate from client_ca_file get in', async () => {
    const file = writeConfig(
      'mtls.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.example]\n',
    );
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file });
    const base = `https://127.0.0.1:${h.exporter.port}`;
    const ok = await httpGet(`${base}/metrics`, { ca: pki.caCert, tls: { cert: pki.clientCert, key: pki.clientKey } });
    expect(ok.status).toBe(200);
    await expect(httpGet(`${base}/metrics`, { ca: pki.caCert })).rejects.toThrow();
    await expect(httpGet(`${base}/metrics`, { ca: pki.caCert, tls: { cert: pki.strangerCert, key: pki.strangerKey } })).rejects.toThrow();
  });

  it('client_allowed_sans: a trusted client certificate with another name is refused', async () => {
    const file = writeConfig(
      'sans.yml',
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [grafana.example]\n',
    );
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file });
    const base = `https://127.0.0.1:${h.exporter.port}`;
    await expect(httpGet(`${base}/metrics`, { ca: pki.caCert, tls: { cert: pki.clientCert, key: pki.clientKey } })).rejects.toThrow();
    expect(h.lines.some((l) => l.includes('TLS client refused: client certificate has none of client_allowed_sans'))).toBe(true);
  });

  it('basic auth without TLS, and an edited file is picked up without a restart (a broken edit is not); the reload gauges say which', async () => {
    const file = writeConfig('auth-only.yml', `basic_auth_users:\n  ${USER}: ${hash}\n`);
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file }, new FakeClock(), { reloadCheckMs: 50 });
    const base = `http://127.0.0.1:${h.exporter.port}`;
    const first = await httpGet(`${base}/metrics`, { headers: basic(USER, PASSWORD) });
    expect(first.status).toBe(200);
    expect((await httpGet(`${base}/healthz`)).status).toBe(200);
    // The reload gauges are served on /metrics; later values are read from the registry, which
    // /metrics re-renders only once a second.
    expect(sample(first.text, 'mikopbx_exporter_web_config_last_reload_successful')).toBe(1);
    const registry = h.exporter.processRegistry;
    const gauge = async (name: string) => sample(await registry.metrics(), name);
    const loadedAt = await gauge('mikopbx_exporter_web_config_last_reload_success_timestamp_seconds');
    expect(loadedAt).toBeGreaterThan(Date.now() / 1000 - 60);

    writeFileSync(file, `basic_auth_users:\n  grafana: ${await bcrypt.hash('n3w-password', 4)}\n`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await httpGet(`${base}/metrics`, { headers: basic(USER, PASSWORD) })).status).toBe(401);
    expect((await httpGet(`${base}/metrics`, { headers: basic('grafana', 'n3w-password') })).status).toBe(200);
    expect(await gauge('mikopbx_exporter_web_config_last_reload_successful')).toBe(1);
    const reloadedAt = await gauge('mikopbx_exporter_web_config_last_reload_success_timestamp_seconds');
    expect(reloadedAt).toBeGreaterThan(loadedAt as number);

    writeFileSync(file, 'basic_auth_users:\n  grafana: plain-text\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.lines.some((l) => l.includes('web config reload failed, keeping the previous settings'))).toBe(true);
    expect((await httpGet(`${base}/metrics`, { headers: basic('grafana', 'n3w-password') })).status).toBe(200);
    expect(await gauge('mikopbx_exporter_web_config_last_reload_successful')).toBe(0);
    expect(await gauge('mikopbx_exporter_web_config_last_reload_success_timestamp_seconds')).toBe(reloadedAt);

    // A good edit after a broken one sets it back to 1.
    writeFileSync(file, `basic_auth_users:\n  ${USER}: ${hash}\n`);
    await new Promise((r) => setTimeout(r, 300));
    expect(await gauge('mikopbx_exporter_web_config_last_reload_successful')).toBe(1);
    expect((await httpGet(`${base}/metrics`, { headers: basic(USER, PASSWORD) })).status).toBe(200);
  });

  it('a rotated certificate is served to new connections without a restart', async () => {
    const other = makeTestPki();
    const file = writeConfig('rotate.yml', 'tls_server_config:\n  cert_file: rotate.crt\n  key_file: rotate.key\n');
    writeFileSync(join(pki.dir, 'rotate.crt'), pki.serverCert);
    writeFileSync(join(pki.dir, 'rotate.key'), pki.serverKey);
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file }, new FakeClock(), { reloadCheckMs: 50 });
    const base = `https://127.0.0.1:${h.exporter.port}`;
    const fresh = { agent: new https.Agent({ keepAlive: false }) };
    expect((await httpGet(`${base}/healthz`, { ca: pki.caCert, ...fresh })).status).toBe(200);
    writeFileSync(join(pki.dir, 'rotate.key'), other.serverKey);
    writeFileSync(join(pki.dir, 'rotate.crt'), other.serverCert);
    await new Promise((r) => setTimeout(r, 300));
    expect((await httpGet(`${base}/healthz`, { ca: other.caCert, ...fresh })).status).toBe(200);
    await expect(httpGet(`${base}/healthz`, { ca: pki.caCert, ...fresh })).rejects.toThrow();
  });

  it('rate_limit answers 429 beyond the burst, probes unaffected', async () => {
    const file = writeConfig('rate.yml', 'rate_limit:\n  interval: 1m\n  burst: 2\n');
    h = await startHarness({ url: pbx.url, apiKey: KEY, webConfigFile: file });
    const base = `http://127.0.0.1:${h.exporter.port}`;
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await httpGet(`${base}/metrics`)).status);
    expect(codes).toEqual([200, 200, 429]);
    expect((await httpGet(`${base}/healthz`)).status).toBe(200);
  });

  it('no API key or basic-auth password in any log line or page', () => {
    expect(seen.lines.length).toBeGreaterThan(5);
    for (const out of [...seen.lines, ...seen.pages]) {
      expect(out).not.toContain(KEY);
      expect(out).not.toContain(PASSWORD);
    }
  });
});

describe('a bad WEB_CONFIG_FILE stops the start with one clear error and exit code 2', () => {
  let pki: TestPki;
  beforeAll(() => {
    ensureBuilt();
    pki = makeTestPki();
  });

  it.each([
    ['missing file', null, /WEB_CONFIG_FILE \(.*absent\.yml\): cannot be read \(ENOENT\)/],
    ['unknown key', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_cert: x\n', /unknown key tls_server_config\.client_cert/],
    ['bad certificate', 'tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n', /not a valid PEM certificate/],
    ['plain-text password', 'basic_auth_users:\n  prometheus: hunter2\n', /basic_auth_users\.prometheus is not a bcrypt hash/],
  ])('%s', async (_name, text, message) => {
    const file = join(pki.dir, text === null ? 'absent.yml' : `bad-${Math.random().toString(36).slice(2)}.yml`);
    if (text !== null) writeFileSync(file, text);
    const p = runMain({ MIKOPBX_URL: 'http://127.0.0.1:9', MIKOPBX_API_KEY: KEY, WEB_CONFIG_FILE: file, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0' });
    expect(await p.exited).toBe(2);
    const err = p.stderr.join('');
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/^mikopbx-exporter: invalid configuration: WEB_CONFIG_FILE /);
    expect(err).toMatch(message);
    expect(err).not.toContain('hunter2');
    expect(p.stdout.join('\n')).not.toContain('listening');
  });
});
