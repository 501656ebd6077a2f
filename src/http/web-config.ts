import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import tls from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config.js';

/**
 * WEB_CONFIG_FILE: the web-config format of Prometheus's exporter-toolkit
 * (docs/web-configuration.md), so operators can reuse the files they have for node_exporter.
 * HTTP/2 is not served (`http2` is accepted and ignored). This file reads and checks it; what the
 * server does with it is in tls-policy.ts, basic-auth.ts and rate-limit.ts, as the toolkit splits
 * tls_config.go from its handlers.
 */

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface TlsSettings {
  cert: string;
  key: string;
  clientCa: string | undefined;
  clientAuth: ClientAuthType;
  clientAllowedSans: string[] | undefined;
  minVersion: tls.SecureVersion;
  maxVersion: tls.SecureVersion;
  ciphers: string | undefined;
  ecdhCurve: string | undefined;
  honorCipherOrder: boolean;
}

export interface WebConfig {
  tls: TlsSettings | undefined;
  /** user → bcrypt hash; empty means no basic auth. */
  users: Map<string, string>;
  headers: Record<string, string>;
  rateLimit: { intervalMs: number; burst: number } | undefined;
  /** Files whose change means the config must be read again. */
  files: string[];
}

const VAR = 'WEB_CONFIG_FILE';

function fail(file: string, problem: string): never {
  throw new ConfigError(VAR, `(${file}): ${problem}`);
}

const TLS_VERSIONS: Record<string, tls.SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

// Go's crypto/tls.CipherSuites() names → OpenSSL names.
const CIPHERS: Record<string, string> = {
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
};
const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };
const CLIENT_AUTH: Record<string, ClientAuthType> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  RequireClientCert: 'RequireAnyClientCert', // old toolkit spelling
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};
// The toolkit allows only these headers, some with fixed values (web/handler.go).
const HEADERS: Record<string, string[] | null> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;

function section(file: string, v: unknown, where: string, allowed: readonly string[]): Obj {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(file, `${where} must be a mapping`);
  const o = v as Obj;
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    fail(
      file,
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${where ? `${where}.` : ''}${k}`).join(', ')} (allowed: ${allowed.join(', ')})`,
    );
  return o;
}

function str(file: string, o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(file, `${where}.${key} must be a string`);
  return v;
}

function strList(file: string, o: Obj, key: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(file, `${where}.${key} must be a list of strings`);
  return v as string[];
}

function readPem(file: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return fail(file, `${what} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Go duration ("30s", "1m30s", "500ms") or a plain number of seconds. */
function parseDuration(file: string, v: unknown, where: string): number {
  if (typeof v === 'number' && v >= 0) return v * 1000;
  if (typeof v !== 'string') return fail(file, `${where} must be a duration such as 1s or 500ms`);
  if (v === '0') return 0;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (unit[m[2] as string] as number);
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== v.length) fail(file, `${where} "${v}" is not a duration such as 1s or 500ms`);
  return total;
}

function parseTls(file: string, raw: unknown): { tls: TlsSettings | undefined; files: string[] } {
  const where = 'tls_server_config';
  const o = section(file, raw, where, [
    'cert',
    'key',
    'client_ca',
    'cert_file',
    'key_file',
    'client_auth_type',
    'client_ca_file',
    'client_allowed_sans',
    'min_version',
    'max_version',
    'cipher_suites',
    'prefer_server_cipher_suites',
    'curve_preferences',
  ]);
  if (Object.values(o).every((v) => v === undefined || v === null || v === '')) return { tls: undefined, files: [] };
  const base = dirname(file);
  const files: string[] = [];
  const path = (key: string) => {
    const p = str(file, o, key, where);
    if (p === undefined) return undefined;
    const abs = resolve(base, p); // relative to the config file, as in the toolkit
    files.push(abs);
    return abs;
  };
  const certFile = path('cert_file');
  const keyFile = path('key_file');
  const caFile = path('client_ca_file');
  if (certFile && str(file, o, 'cert', where)) fail(file, `${where}: set cert or cert_file, not both`);
  if (keyFile && str(file, o, 'key', where)) fail(file, `${where}: set key or key_file, not both`);
  const cert = certFile ? readPem(file, certFile, 'cert_file') : str(file, o, 'cert', where);
  const key = keyFile ? readPem(file, keyFile, 'key_file') : str(file, o, 'key', where);
  if (!cert) fail(file, `${where}: missing one of cert or cert_file`);
  if (!key) fail(file, `${where}: missing one of key or key_file`);
  const clientCa = caFile ? readPem(file, caFile, 'client_ca_file') : str(file, o, 'client_ca', where);

  try {
    new X509Certificate(cert);
  } catch (e) {
    fail(file, `${where}: the certificate is not a valid PEM certificate (${(e as Error).message})`);
  }
  try {
    createPrivateKey(key);
  } catch (e) {
    fail(file, `${where}: the key is not a valid PEM private key (${(e as Error).message})`);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    fail(file, `${where}: certificate and key do not belong together (${(e as Error).message})`);
  }
  if (clientCa !== undefined) {
    try {
      new X509Certificate(clientCa);
    } catch {
      fail(file, `${where}: client CA contains no valid PEM certificate`);
    }
  }

  const authRaw = str(file, o, 'client_auth_type', where) ?? '';
  const clientAuth = CLIENT_AUTH[authRaw];
  if (!clientAuth) fail(file, `${where}.client_auth_type "${authRaw}" is not one of ${Object.keys(CLIENT_AUTH).filter(Boolean).join(', ')}`);
  if (clientCa !== undefined && clientAuth === 'NoClientCert') {
    fail(file, `${where}: a client CA is configured without a client_auth_type (use RequireAndVerifyClientCert)`);
  }
  if ((clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') && clientCa === undefined) {
    fail(file, `${where}: client_auth_type ${clientAuth} needs client_ca_file (or client_ca)`);
  }
  const sans = strList(file, o, 'client_allowed_sans', where);
  if (sans && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
    fail(file, `${where}.client_allowed_sans requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert`);
  }
  const version = (key: string, dflt: tls.SecureVersion): tls.SecureVersion => {
    const v = str(file, o, key, where);
    if (v === undefined) return dflt;
    const mapped = TLS_VERSIONS[v];
    if (!mapped) fail(file, `${where}.${key} "${v}" is not one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    return mapped;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  const cipherNames = strList(file, o, 'cipher_suites', where);
  const ciphers = cipherNames?.map((c) => CIPHERS[c] ?? fail(file, `${where}.cipher_suites: unknown cipher ${c}`));
  const curveNames = strList(file, o, 'curve_preferences', where);
  const curves = curveNames?.map((c) => CURVES[c] ?? fail(file, `${where}.curve_preferences: unknown curve ${c}`));
  const prefer = o.prefer_server_cipher_suites;
  if (prefer !== undefined && prefer !== null && typeof prefer !== 'boolean') fail(file, `${where}.prefer_server_cipher_suites must be true or false`);

  return {
    tls: {
      cert,
      key,
      clientCa,
      clientAuth,
      clientAllowedSans: sans,
      minVersion,
      maxVersion,
      ciphers: ciphers && ciphers.length > 0 ? ciphers.join(':') : undefined,
      ecdhCurve: curves && curves.length > 0 ? curves.join(':') : undefined,
      honorCipherOrder: prefer !== false,
    },
    files,
  };
}

/** Reads and validates a web-config file; throws ConfigError (exit code 2) naming the problem. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    return fail(file, `is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const top = section(file, doc, '', ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);

  const { tls: tlsSettings, files } = parseTls(file, top.tls_server_config);

  const httpCfg = section(file, top.http_server_config, 'http_server_config', ['http2', 'headers']);
  if (httpCfg.http2 !== undefined && httpCfg.http2 !== null && typeof httpCfg.http2 !== 'boolean') fail(file, 'http_server_config.http2 must be true or false');
  const headersRaw = section(file, httpCfg.headers, 'http_server_config.headers', Object.keys(HEADERS));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(headersRaw)) {
    if (value === null || value === undefined || value === '') continue;
    if (typeof value !== 'string' || /[\r\n]/.test(value)) fail(file, `http_server_config.headers.${name} must be a one-line string`);
    const allowed = HEADERS[name];
    if (allowed && !allowed.includes(value)) fail(file, `http_server_config.headers.${name} must be one of ${allowed.join(', ')}, not "${value}"`);
    headers[name] = value;
  }

  const usersRaw = top.basic_auth_users;
  const users = new Map<string, string>();
  if (usersRaw !== undefined && usersRaw !== null) {
    if (typeof usersRaw !== 'object' || Array.isArray(usersRaw)) fail(file, 'basic_auth_users must map user names to bcrypt hashes');
    for (const [user, hash] of Object.entries(usersRaw as Obj)) {
      if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
        fail(file, `basic_auth_users.${user} is not a bcrypt hash (expected $2y$/$2b$/$2a$…, e.g. from "htpasswd -nBC 10 '' | tr -d ':\\n'")`);
      }
      users.set(user, hash);
    }
  }

  let rateLimit: WebConfig['rateLimit'];
  const rl = section(file, top.rate_limit, 'rate_limit', ['interval', 'burst']);
  if (rl.interval !== undefined && rl.interval !== null) {
    const intervalMs = parseDuration(file, rl.interval, 'rate_limit.interval');
    const burst = rl.burst ?? 0;
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) fail(file, 'rate_limit.burst must be a whole number');
    if (intervalMs > 0) rateLimit = { intervalMs, burst: burst as number };
  }

  return { tls: tlsSettings, users, headers, rateLimit, files: [resolve(file), ...files] };
}

/** Stat signature of the files a web config depends on, to notice edits (cert rotation). */
export function filesSignature(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('|');
}
