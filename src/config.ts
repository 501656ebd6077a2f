import { readFileSync } from 'node:fs';
import envSchema from 'env-schema';

export const COLLECTOR_NAMES = ['peers', 'providers', 'calls', 'cdr', 'system'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];
export const STATUS_COLLECTORS: readonly CollectorName[] = ['peers', 'providers', 'calls'];

/** Whether any collector of the status poll is enabled. */
export function hasStatusCollectors(config: Pick<Config, 'collectors'>): boolean {
  return config.collectors.some((c) => STATUS_COLLECTORS.includes(c));
}

export type ApiVersionSetting = 'auto' | 'v3' | 'legacy';

export interface Config {
  url: string;
  apiKey: string | undefined;
  login: string | undefined;
  password: string | undefined;
  apiVersion: ApiVersionSetting;
  tlsInsecureSkipVerify: boolean;
  ca: string | undefined;
  timeoutSeconds: number;
  pollIntervalSeconds: number;
  cdrPollIntervalSeconds: number;
  systemPollIntervalSeconds: number;
  collectors: CollectorName[];
  peerDetails: boolean;
  listenAddress: string;
  listenPort: number;
  maxRequestsPerMinute: number;
  webConfigFile: string | undefined;
  logLevel: string;
}

/** A configuration problem: the process reports it once and exits with code 2. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const schema = {
  type: 'object',
  required: ['MIKOPBX_URL'],
  properties: {
    MIKOPBX_URL: { type: 'string', minLength: 1 },
    MIKOPBX_API_KEY: { type: 'string' },
    MIKOPBX_API_KEY_FILE: { type: 'string' },
    MIKOPBX_LOGIN: { type: 'string' },
    MIKOPBX_PASSWORD: { type: 'string' },
    MIKOPBX_PASSWORD_FILE: { type: 'string' },
    MIKOPBX_API_VERSION: { type: 'string', enum: ['auto', 'v3', 'legacy'], default: 'auto' },
    MIKOPBX_TLS_INSECURE_SKIP_VERIFY: { type: 'boolean', default: false },
    MIKOPBX_CA_FILE: { type: 'string' },
    MIKOPBX_TIMEOUT_SECONDS: { type: 'number', exclusiveMinimum: 0, maximum: 300, default: 10 },
    POLL_INTERVAL_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 30 },
    CDR_POLL_INTERVAL_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 60 },
    // The PBX refreshes these values every 30 s to 30 min; more often only costs requests.
    SYSTEM_POLL_INTERVAL_SECONDS: { type: 'integer', minimum: 60, maximum: 86400, default: 300 },
    COLLECTORS: { type: 'string', default: COLLECTOR_NAMES.join(',') },
    PEER_DETAILS: { type: 'boolean', default: true },
    LISTEN_ADDRESS: { type: 'string', minLength: 1, default: '0.0.0.0' },
    LISTEN_PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 10745 },
    MIKOPBX_MAX_REQUESTS_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 10000, default: 60 },
    WEB_CONFIG_FILE: { type: 'string' },
    LOG_LEVEL: { type: 'string', enum: LOG_LEVELS, default: 'info' },
  },
} as const;

interface RawEnv {
  MIKOPBX_URL: string;
  MIKOPBX_API_KEY?: string;
  MIKOPBX_API_KEY_FILE?: string;
  MIKOPBX_LOGIN?: string;
  MIKOPBX_PASSWORD?: string;
  MIKOPBX_PASSWORD_FILE?: string;
  MIKOPBX_API_VERSION: ApiVersionSetting;
  MIKOPBX_TLS_INSECURE_SKIP_VERIFY: boolean;
  MIKOPBX_CA_FILE?: string;
  MIKOPBX_TIMEOUT_SECONDS: number;
  POLL_INTERVAL_SECONDS: number;
  CDR_POLL_INTERVAL_SECONDS: number;
  SYSTEM_POLL_INTERVAL_SECONDS: number;
  COLLECTORS: string;
  PEER_DETAILS: boolean;
  LISTEN_ADDRESS: string;
  LISTEN_PORT: number;
  MIKOPBX_MAX_REQUESTS_PER_MINUTE: number;
  WEB_CONFIG_FILE?: string;
  LOG_LEVEL: string;
}

interface AjvError {
  instancePath?: string;
  dataPath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeSchemaError(err: unknown): ConfigError {
  const errors = (err as { errors?: AjvError[] }).errors;
  const first = errors?.[0];
  if (!first) return new ConfigError('environment', String((err as Error).message ?? err));
  if (first.keyword === 'required') {
    return new ConfigError(String(first.params?.missingProperty ?? 'variable'), 'is required but not set');
  }
  const variable = (first.instancePath ?? first.dataPath ?? '').replace(/^[/.]/, '') || 'environment';
  let problem = first.message ?? 'is invalid';
  if (first.keyword === 'enum') {
    problem = `must be one of ${(first.params?.allowedValues as string[] | undefined)?.join(', ') ?? '?'}`;
  }
  return new ConfigError(variable, problem);
}

function readSecretFile(variable: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(variable, `names a file that cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${path})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw new ConfigError(variable, `names an empty file (${path})`);
  return value;
}

function pickSecret(env: RawEnv, plain: 'MIKOPBX_API_KEY' | 'MIKOPBX_PASSWORD'): string | undefined {
  const fileVar = `${plain}_FILE` as const;
  const direct = env[plain];
  const file = env[fileVar];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(plain, `and ${fileVar} are both set; set only one`);
  }
  if (file !== undefined && file !== '') return readSecretFile(fileVar, file);
  return direct === '' ? undefined : direct;
}

function parseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError('MIKOPBX_URL', `is not a valid URL (expected e.g. https://pbx.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('MIKOPBX_URL', `must start with http:// or https://`);
  }
  if (url.username || url.password) {
    throw new ConfigError('MIKOPBX_URL', 'must not contain credentials; use MIKOPBX_API_KEY or MIKOPBX_LOGIN/MIKOPBX_PASSWORD');
  }
  if (url.search || url.hash) throw new ConfigError('MIKOPBX_URL', 'must not contain a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

function parseCollectors(raw: string): CollectorName[] {
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new ConfigError('COLLECTORS', `must name at least one of ${COLLECTOR_NAMES.join(', ')}`);
  const unknown = names.filter((n) => !(COLLECTOR_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new ConfigError('COLLECTORS', `has unknown collector(s) ${unknown.join(', ')}; known: ${COLLECTOR_NAMES.join(', ')}`);
  }
  return COLLECTOR_NAMES.filter((n) => names.includes(n));
}

/** Reads and validates the environment; throws ConfigError naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const data: Record<string, string> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = env[key];
    // An empty variable is an unset one (a blank line in an env file, `VAR=` in a manifest).
    if (v !== undefined && v !== '') data[key] = v;
  }
  let raw: RawEnv;
  try {
    raw = envSchema<RawEnv>({ schema, data, env: false, dotenv: false });
  } catch (e) {
    throw describeSchemaError(e);
  }

  const url = parseUrl(raw.MIKOPBX_URL);
  const apiKey = pickSecret(raw, 'MIKOPBX_API_KEY');
  const password = pickSecret(raw, 'MIKOPBX_PASSWORD');
  const login = raw.MIKOPBX_LOGIN;

  if (apiKey !== undefined && /\s/.test(apiKey)) {
    throw new ConfigError(apiKey === env.MIKOPBX_API_KEY ? 'MIKOPBX_API_KEY' : 'MIKOPBX_API_KEY_FILE', 'contains whitespace; an API key is 64 hex characters');
  }
  if (password !== undefined && login === undefined) {
    throw new ConfigError('MIKOPBX_LOGIN', 'is required when MIKOPBX_PASSWORD is set');
  }
  if (login !== undefined && password === undefined) {
    throw new ConfigError('MIKOPBX_PASSWORD', '(or MIKOPBX_PASSWORD_FILE) is required when MIKOPBX_LOGIN is set');
  }
  if (raw.MIKOPBX_API_VERSION === 'legacy' && login === undefined && apiKey !== undefined) {
    throw new ConfigError('MIKOPBX_API_VERSION', 'is legacy, which needs MIKOPBX_LOGIN/MIKOPBX_PASSWORD (legacy MikoPBX has no API keys)');
  }

  let ca: string | undefined;
  if (raw.MIKOPBX_CA_FILE) {
    try {
      ca = readFileSync(raw.MIKOPBX_CA_FILE, 'utf8');
    } catch (e) {
      throw new ConfigError('MIKOPBX_CA_FILE', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${raw.MIKOPBX_CA_FILE})`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError('MIKOPBX_CA_FILE', `does not contain a PEM certificate (${raw.MIKOPBX_CA_FILE})`);
    }
  }

  return {
    url,
    apiKey,
    login,
    password,
    apiVersion: raw.MIKOPBX_API_VERSION,
    tlsInsecureSkipVerify: raw.MIKOPBX_TLS_INSECURE_SKIP_VERIFY,
    ca,
    timeoutSeconds: raw.MIKOPBX_TIMEOUT_SECONDS,
    pollIntervalSeconds: raw.POLL_INTERVAL_SECONDS,
    cdrPollIntervalSeconds: raw.CDR_POLL_INTERVAL_SECONDS,
    systemPollIntervalSeconds: raw.SYSTEM_POLL_INTERVAL_SECONDS,
    collectors: parseCollectors(raw.COLLECTORS),
    peerDetails: raw.PEER_DETAILS,
    listenAddress: raw.LISTEN_ADDRESS,
    listenPort: raw.LISTEN_PORT,
    maxRequestsPerMinute: raw.MIKOPBX_MAX_REQUESTS_PER_MINUTE,
    webConfigFile: raw.WEB_CONFIG_FILE,
    logLevel: raw.LOG_LEVEL,
  };
}

/** Whether a URL's host is this machine (MikoPBX lets such callers in without a key). */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Valid settings that are likely mistakes, each logged once at start. Missing credentials are not
 * a configuration error (contract §2: none by default): MikoPBX answers keyless requests from
 * 127.0.0.1, so an exporter on the PBX itself needs none.
 */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  if (config.tlsInsecureSkipVerify) {
    out.push('MIKOPBX_TLS_INSECURE_SKIP_VERIFY=true: the PBX certificate is not verified; prefer MIKOPBX_CA_FILE');
  }
  if (config.apiKey === undefined && config.login === undefined && !isLoopbackUrl(config.url)) {
    const fix =
      config.apiVersion === 'legacy'
        ? 'set MIKOPBX_LOGIN and MIKOPBX_PASSWORD_FILE (a web-admin login)'
        : 'create a read-only API key on the PBX and set MIKOPBX_API_KEY_FILE';
    out.push(
      `no MIKOPBX_API_KEY (or MIKOPBX_LOGIN) is set and MIKOPBX_URL is not on this machine: MikoPBX answers requests without credentials only from 127.0.0.1, so every poll will be refused (401); ${fix}`,
    );
  }
  return out;
}

/** Values that must never appear in logs, metrics or pages. */
export function configSecrets(config: Config): string[] {
  return [config.apiKey, config.password].filter((s): s is string => typeof s === 'string' && s.length > 0);
}
