import { readFileSync } from 'node:fs';
import envSchema from 'env-schema';
import { COLLECTOR_NAMES, STATUS_ORDER, type CollectorName } from './collectors/table.js';

export { COLLECTOR_NAMES, type CollectorName };

/** Whether any collector of the status poll is enabled. */
export function hasStatusCollectors(config: Pick<Config, 'collectors'>): boolean {
  return config.collectors.some((c) => STATUS_ORDER.includes(c));
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
  /** AMI (queues, asterisk collectors): off without a user. */
  amiUser: string | undefined;
  amiPassword: string | undefined;
  /** Default: the host of `url`. */
  amiHost: string | undefined;
  amiPort: number;
  amiTls: boolean;
  queueMemberDetails: boolean;
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

type JsonSchema = Record<string, unknown>;

/**
 * One setting: its variable, its JSON schema (env-schema coerces the variable's text to it), how
 * the validated value becomes the Config field, and the targets-file key (with its own schema
 * where YAML allows more than one text) that overrides it for one PBX in fleet mode.
 */
export interface Setting<T> {
  env: string;
  schema: JsonSchema;
  map: (value: never, source: string) => T;
  perTarget?: { key: string; schema?: JsonSchema };
}

const value = <T>(env: string, schema: JsonSchema, perTarget?: string): Setting<T> => ({
  env,
  schema,
  map: (v: T) => v,
  ...(perTarget ? { perTarget: { key: perTarget } } : {}),
});

/** Every setting of the environment but the credentials (which come in pairs: see readCredentials). */
export const SETTINGS: { [K in Exclude<keyof Config, SecretField>]: Setting<Config[K]> } = {
  url: { env: 'MIKOPBX_URL', schema: { type: 'string', minLength: 1 }, map: (v: string, source) => parseUrl(v, source) },
  apiVersion: value('MIKOPBX_API_VERSION', { type: 'string', enum: ['auto', 'v3', 'legacy'], default: 'auto' }, 'api_version'),
  tlsInsecureSkipVerify: value('MIKOPBX_TLS_INSECURE_SKIP_VERIFY', { type: 'boolean', default: false }, 'tls.insecure_skip_verify'),
  ca: { env: 'MIKOPBX_CA_FILE', schema: { type: 'string' }, map: (v: string | undefined, source) => readCaFile(v, source), perTarget: { key: 'tls.ca_file' } },
  timeoutSeconds: value('MIKOPBX_TIMEOUT_SECONDS', { type: 'number', exclusiveMinimum: 0, maximum: 300, default: 10 }, 'timeout_seconds'),
  pollIntervalSeconds: value('POLL_INTERVAL_SECONDS', { type: 'integer', minimum: 1, maximum: 86400, default: 30 }, 'poll_interval_seconds'),
  cdrPollIntervalSeconds: value('CDR_POLL_INTERVAL_SECONDS', { type: 'integer', minimum: 1, maximum: 86400, default: 60 }, 'cdr_poll_interval_seconds'),
  // The PBX refreshes these values every 30 s to 30 min; more often only costs requests.
  systemPollIntervalSeconds: value(
    'SYSTEM_POLL_INTERVAL_SECONDS',
    { type: 'integer', minimum: 60, maximum: 86400, default: 300 },
    'system_poll_interval_seconds',
  ),
  collectors: {
    env: 'COLLECTORS',
    schema: { type: 'string', default: COLLECTOR_NAMES.join(',') },
    map: (v: string | string[], source) => parseCollectors(v, source),
    perTarget: { key: 'collectors', schema: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
  },
  peerDetails: value('PEER_DETAILS', { type: 'boolean', default: true }, 'peer_details'),
  listenAddress: value('LISTEN_ADDRESS', { type: 'string', minLength: 1, default: '0.0.0.0' }),
  listenPort: value('LISTEN_PORT', { type: 'integer', minimum: 0, maximum: 65535, default: 10745 }),
  maxRequestsPerMinute: value('MIKOPBX_MAX_REQUESTS_PER_MINUTE', { type: 'integer', minimum: 1, maximum: 10000, default: 60 }, 'max_requests_per_minute'),
  webConfigFile: value('WEB_CONFIG_FILE', { type: 'string' }),
  logLevel: value('LOG_LEVEL', { type: 'string', enum: LOG_LEVELS, default: 'info' }),
  amiUser: value('MIKOPBX_AMI_USER', { type: 'string', minLength: 1 }),
  amiHost: value('MIKOPBX_AMI_HOST', { type: 'string', minLength: 1, pattern: '^[^/:@\\s]+$|^\\[[0-9A-Fa-f:.]+\\]$' }),
  amiPort: value('MIKOPBX_AMI_PORT', { type: 'integer', minimum: 1, maximum: 65535, default: 5038 }),
  amiTls: value('MIKOPBX_AMI_TLS', { type: 'boolean', default: false }),
  queueMemberDetails: value('QUEUE_MEMBER_DETAILS', { type: 'boolean', default: false }, 'queue_member_details'),
};

/** The Config fields that hold secrets: read in pairs or from files, never declared as plain settings. */
type SecretField = 'apiKey' | 'login' | 'password' | 'amiPassword';

const CREDENTIAL_VARIABLES = ['MIKOPBX_API_KEY', 'MIKOPBX_API_KEY_FILE', 'MIKOPBX_LOGIN', 'MIKOPBX_PASSWORD', 'MIKOPBX_PASSWORD_FILE'] as const;
/** AMI credentials are per PBX: in fleet mode they belong in the targets file. */
const AMI_CREDENTIAL_VARIABLES = ['MIKOPBX_AMI_USER', 'MIKOPBX_AMI_PASSWORD', 'MIKOPBX_AMI_PASSWORD_FILE', 'MIKOPBX_AMI_HOST'] as const;

/** Settings of the process in fleet mode (TARGETS_FILE), which have no meaning for one PBX. */
export const FLEET_SETTINGS = {
  targetsFile: { env: 'TARGETS_FILE', schema: { type: 'string' } },
  shard: { env: 'SHARD', schema: { type: 'string' } },
  maxRequestsInFlight: { env: 'MAX_REQUESTS_IN_FLIGHT', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 32 } },
} as const;

const ENV_SCHEMA = {
  type: 'object',
  properties: {
    ...Object.fromEntries(Object.values(SETTINGS).map((s) => [s.env, s.schema])),
    ...Object.fromEntries([...CREDENTIAL_VARIABLES, 'MIKOPBX_AMI_PASSWORD', 'MIKOPBX_AMI_PASSWORD_FILE'].map((name) => [name, { type: 'string' }])),
    ...Object.fromEntries(Object.values(FLEET_SETTINGS).map((s) => [s.env, s.schema])),
  },
};

type RawEnv = Record<string, string | number | boolean | undefined>;

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
  const variable = (first.instancePath ?? first.dataPath ?? '').replace(/^[/.]/, '') || 'environment';
  let problem = first.message ?? 'is invalid';
  if (first.keyword === 'enum') {
    problem = `must be one of ${(first.params?.allowedValues as string[] | undefined)?.join(', ') ?? '?'}`;
  }
  return new ConfigError(variable, problem);
}

/** The validated environment: every variable of ENV_SCHEMA, typed, with defaults applied. */
function readEnv(env: NodeJS.ProcessEnv): RawEnv {
  const data: Record<string, string> = {};
  for (const key of Object.keys(ENV_SCHEMA.properties)) {
    const v = env[key];
    // An empty variable is an unset one (a blank line in an env file, `VAR=` in a manifest).
    if (v !== undefined && v !== '') data[key] = v;
  }
  try {
    return envSchema<RawEnv>({ schema: ENV_SCHEMA, data, env: false, dotenv: false });
  } catch (e) {
    throw describeSchemaError(e);
  }
}

/** A secret file's content, without one trailing newline; `source` names it in errors. */
export function readSecretFile(source: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(source, `names a file that cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${path})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw new ConfigError(source, `names an empty file (${path})`);
  return value;
}

function pickSecret(env: RawEnv, plain: 'MIKOPBX_API_KEY' | 'MIKOPBX_PASSWORD' | 'MIKOPBX_AMI_PASSWORD'): string | undefined {
  const fileVar = `${plain}_FILE` as const;
  const direct = env[plain] as string | undefined;
  const file = env[fileVar] as string | undefined;
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(plain, `and ${fileVar} are both set; set only one`);
  }
  if (file !== undefined && file !== '') return readSecretFile(fileVar, file);
  return direct === '' ? undefined : direct;
}

export function parseUrl(raw: string, source = 'MIKOPBX_URL'): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(source, `is not a valid URL (expected e.g. https://pbx.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(source, `must start with http:// or https://`);
  }
  if (url.username || url.password) {
    throw new ConfigError(source, 'must not contain credentials; use MIKOPBX_API_KEY or MIKOPBX_LOGIN/MIKOPBX_PASSWORD');
  }
  if (url.search || url.hash) throw new ConfigError(source, 'must not contain a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

function parseCollectors(raw: string | string[], source: string): CollectorName[] {
  const names = (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  if (names.length === 0) throw new ConfigError(source, `must name at least one of ${COLLECTOR_NAMES.join(', ')}`);
  const unknown = names.filter((n) => !(COLLECTOR_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new ConfigError(source, `has unknown collector(s) ${unknown.join(', ')}; known: ${COLLECTOR_NAMES.join(', ')}`);
  }
  return COLLECTOR_NAMES.filter((n) => names.includes(n));
}

function readCaFile(path: string | undefined, source: string): string | undefined {
  if (!path) return undefined;
  let ca: string;
  try {
    ca = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(source, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}: ${path})`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(source, `does not contain a PEM certificate (${path})`);
  return ca;
}

/** Applies one setting's mapping to its validated value; `source` names it in errors. */
export function mapSetting<T>(setting: Setting<T>, raw: unknown, source: string = setting.env): T {
  return setting.map(raw as never, source);
}

/** The settings every target of a fleet shares (all but the PBX's address and secrets). */
export type TargetDefaults = Omit<Config, 'url' | SecretField>;

/** Every Config field but url and the secrets, from the validated environment. */
function settingsFrom(raw: RawEnv): TargetDefaults {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    if (key !== 'url') out[key] = mapSetting(setting as Setting<unknown>, raw[setting.env]);
  }
  return out as TargetDefaults;
}

/** The AMI user and password come together; without a user the AMI collectors are off. */
export function checkAmiCredentials(
  user: string | undefined,
  password: string | undefined,
  names = { user: 'MIKOPBX_AMI_USER', password: 'MIKOPBX_AMI_PASSWORD' },
): void {
  if (user !== undefined && password === undefined) throw new ConfigError(names.password, `(or ${names.password}_FILE) is required when ${names.user} is set`);
  if (password !== undefined && user === undefined) throw new ConfigError(names.user, `is required when ${names.password} is set`);
}

export interface Credentials {
  apiKey: string | undefined;
  login: string | undefined;
  password: string | undefined;
}

/**
 * The pairs credentials must come in. `names` says how each is called where it was set (the
 * variables, or a targets-file auth module).
 */
export function checkCredentials(
  c: Credentials,
  apiVersion: ApiVersionSetting,
  names = { apiKey: 'MIKOPBX_API_KEY', login: 'MIKOPBX_LOGIN', password: 'MIKOPBX_PASSWORD' },
): void {
  if (c.apiKey !== undefined && /\s/.test(c.apiKey)) throw new ConfigError(names.apiKey, 'contains whitespace; an API key is 64 hex characters');
  if (c.password !== undefined && c.login === undefined) throw new ConfigError(names.login, `is required when ${names.password} is set`);
  if (c.login !== undefined && c.password === undefined) {
    throw new ConfigError(names.password, `(or ${names.password}_FILE) is required when ${names.login} is set`);
  }
  if (apiVersion === 'legacy' && c.login === undefined && c.apiKey !== undefined) {
    throw new ConfigError('MIKOPBX_API_VERSION', `is legacy, which needs ${names.login}/${names.password} (legacy MikoPBX has no API keys)`);
  }
}

/** Reads and validates the environment of a single-PBX exporter; throws ConfigError naming the variable at fault. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readEnv(env);
  if (raw.MIKOPBX_URL === undefined) throw new ConfigError('MIKOPBX_URL', 'is required but not set');
  const url = mapSetting(SETTINGS.url, raw.MIKOPBX_URL);
  const apiKey = pickSecret(raw, 'MIKOPBX_API_KEY');
  const password = pickSecret(raw, 'MIKOPBX_PASSWORD');
  const login = raw.MIKOPBX_LOGIN as string | undefined;
  const settings = settingsFrom(raw);
  const names = {
    apiKey: apiKey !== undefined && apiKey !== env.MIKOPBX_API_KEY ? 'MIKOPBX_API_KEY_FILE' : 'MIKOPBX_API_KEY',
    login: 'MIKOPBX_LOGIN',
    password: 'MIKOPBX_PASSWORD',
  };
  checkCredentials({ apiKey, login, password }, settings.apiVersion, names);
  const amiPassword = pickSecret(raw, 'MIKOPBX_AMI_PASSWORD');
  checkAmiCredentials(settings.amiUser, amiPassword);
  return { url, apiKey, login, password, amiPassword, ...settings };
}

/** Fleet mode: the process settings, and the environment's settings as every target's defaults. */
export interface FleetSettings {
  targetsFile: string;
  /** SHARD as given (`i/N`, i a number or a StatefulSet pod name); parsed by the fleet. */
  shard: string | undefined;
  maxRequestsInFlight: number;
  defaults: TargetDefaults;
}

/**
 * The environment in fleet mode (TARGETS_FILE set), or null for a single PBX. The PBX address and
 * credentials are per target in the file: set in the environment too, they are a mistake.
 */
export function loadFleetSettings(env: NodeJS.ProcessEnv = process.env): FleetSettings | null {
  const raw = readEnv(env);
  const targetsFile = raw.TARGETS_FILE as string | undefined;
  if (targetsFile === undefined) {
    for (const name of ['SHARD', 'MAX_REQUESTS_IN_FLIGHT']) if (env[name]) throw new ConfigError(name, 'is a fleet-mode setting: it needs TARGETS_FILE');
    return null;
  }
  for (const name of ['MIKOPBX_URL', ...CREDENTIAL_VARIABLES, ...AMI_CREDENTIAL_VARIABLES]) {
    if (raw[name] !== undefined)
      throw new ConfigError(name, 'must not be set with TARGETS_FILE: in fleet mode each PBX has its url and credentials in the targets file');
  }
  return {
    targetsFile,
    shard: raw.SHARD as string | undefined,
    maxRequestsInFlight: raw.MAX_REQUESTS_IN_FLIGHT as number,
    defaults: settingsFrom(raw),
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
export function configSecrets(config: Pick<Config, 'apiKey' | 'password'> & Partial<Pick<Config, 'amiPassword'>>): string[] {
  return [config.apiKey, config.password, config.amiPassword].filter((s): s is string => typeof s === 'string' && s.length > 0);
}
