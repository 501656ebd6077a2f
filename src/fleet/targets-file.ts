import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { checkCredentials, ConfigError, mapSetting, parseUrl, readSecretFile, SETTINGS, type Config, type FleetSettings, type Setting } from '../config.js';

/** One PBX of the fleet, as the targets file describes it. */
export interface TargetSpec {
  name: string;
  /** The user's labels (customer, site …): they go to Prometheus through /targets. */
  labels: Record<string, string>;
  config: Config;
  /** Changes exactly when the target must restart: any setting, the url or a credential. */
  fingerprint: string;
}

const VARIABLE = 'TARGETS_FILE';
/** Usable as a label value, a URL parameter and a log field without quoting. */
const NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,62}$';
/** Labels Prometheus sets itself, or that the probe relabelling needs. */
const RESERVED_LABELS = ['instance', 'job'];

const secretSource = { type: 'string', minLength: 1 };
const AUTH_MODULE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { api_key_file: secretSource, api_key_env: secretSource, login: secretSource, password_file: secretSource, password_env: secretSource },
};

/** The per-target overrides, from the settings' own declarations (`perTarget`), nested at dots. */
function overridesSchema(): Record<string, unknown> {
  const root: Record<string, Record<string, unknown>> = {};
  for (const setting of Object.values(SETTINGS) as Setting<unknown>[]) {
    if (!setting.perTarget) continue;
    const schema = { ...(setting.perTarget.schema ?? setting.schema) };
    delete schema.default;
    const [head, tail] = setting.perTarget.key.split('.') as [string, string | undefined];
    if (tail === undefined) root[head] = schema;
    else {
      const group = (root[head] ??= { type: 'object', additionalProperties: false, properties: {} });
      (group.properties as Record<string, unknown>)[tail] = schema;
    }
  }
  return root;
}

const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['targets'],
  properties: {
    auth_modules: { type: 'object', additionalProperties: AUTH_MODULE_SCHEMA, propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' } },
    targets: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'url'],
        properties: {
          name: { type: 'string', pattern: NAME_PATTERN },
          url: { type: 'string', minLength: 1 },
          auth: { type: 'string', minLength: 1 },
          labels: {
            type: 'object',
            additionalProperties: { type: 'string' },
            propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', not: { anyOf: [{ pattern: '^__' }, { enum: RESERVED_LABELS }] } },
          },
          ami: {
            type: 'object',
            additionalProperties: false,
            required: ['auth'],
            properties: {
              auth: { type: 'string', minLength: 1 },
              host: { type: 'string', minLength: 1, pattern: '^[^/:@\\s]+$|^\\[[0-9A-Fa-f:.]+\\]$' },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              tls: { type: 'boolean' },
            },
          },
          ...overridesSchema(),
        },
      },
    },
  },
};

const validate = new Ajv({ allErrors: false, strict: false }).compile(FILE_SCHEMA);

type Obj = Record<string, unknown>;
type Path = (string | number)[];

/** Where things are in the file: a problem names the file and the line. */
class Located {
  private readonly lines = new LineCounter();
  readonly doc: Document;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
  }

  /** The line of a path's value (or of the nearest enclosing node that exists). */
  line(path: Path, key?: string): number {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length === 0 ? this.doc.contents : this.doc.getIn(p, true);
      if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
        if (key !== undefined && isMap(node)) {
          const pair = node.items.find((i) => (i.key as { value?: unknown } | null)?.value === key);
          const range = (pair?.key as { range?: number[] } | undefined)?.range;
          if (range) return this.lines.linePos(range[0] as number).line;
        }
        return this.lines.linePos(node.range[0] as number).line;
      }
      if (p.length === 0) return 1;
    }
  }

  fail(path: Path, problem: string, key?: string): never {
    throw new ConfigError(VARIABLE, `(${this.file}) line ${this.line(path, key)}: ${dotted(key === undefined ? path : [...path, key])} ${problem}`);
  }

  /** Runs a check whose ConfigError names `path`: the error gains the file and line. */
  at<T>(path: Path, fn: (source: string) => T): T {
    try {
      return fn(dotted(path));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(VARIABLE, `(${this.file}) line ${this.line(path)}: ${e.message.replace(/^invalid configuration: /, '')}`);
    }
  }
}

function dotted(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || 'the file';
}

function schemaProblem(located: Located, error: ErrorObject): never {
  const path: Path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return located.fail(path, 'is not a known key', String(params.additionalProperty));
    case 'required':
      return located.fail(path, `is missing ${String(params.missingProperty)}`);
    case 'enum':
      return located.fail(path, `must be one of ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'pattern':
      return path.at(-1) === 'name'
        ? located.fail(path, 'must be lower-case letters, digits, "-", "_" or "." (at most 63), starting with a letter or digit')
        : located.fail(path, `must match ${String(params.pattern)}`);
    case 'propertyNames':
    case 'not':
      return located.fail(
        path,
        'has a key that is not allowed here (label names are [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", not instance or job; auth module names are letters, digits, "-", "_", ".")',
      );
    default:
      return located.fail(path, error.message ?? 'is invalid');
  }
}

interface AuthModule {
  apiKey?: string;
  login?: string;
  password?: string;
}

function secretOf(located: Located, path: Path, m: Obj, kind: 'api_key' | 'password', env: NodeJS.ProcessEnv): string | undefined {
  const file = m[`${kind}_file`] as string | undefined;
  const variable = m[`${kind}_env`] as string | undefined;
  if (file !== undefined && variable !== undefined) located.fail(path, `sets both ${kind}_file and ${kind}_env; set only one`);
  if (file !== undefined) return located.at([...path, `${kind}_file`], (source) => readSecretFile(source, file));
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (value === undefined || value === '') located.fail([...path, `${kind}_env`], `names the variable ${variable}, which is not set`);
  return value;
}

function readAuthModules(located: Located, raw: Obj | undefined, env: NodeJS.ProcessEnv): Map<string, AuthModule> {
  const out = new Map<string, AuthModule>();
  for (const [name, value] of Object.entries(raw ?? {})) {
    const path = ['auth_modules', name];
    const m = (value ?? {}) as Obj;
    const apiKey = secretOf(located, path, m, 'api_key', env);
    const password = secretOf(located, path, m, 'password', env);
    const login = m.login as string | undefined;
    if (apiKey !== undefined && (login !== undefined || password !== undefined))
      located.fail(path, 'has both an API key and a login; an auth module is one or the other');
    if (apiKey === undefined && login === undefined)
      located.fail(path, 'needs api_key_file or api_key_env (v3), or login with password_file or password_env (legacy)');
    located.at(path, () =>
      checkCredentials({ apiKey, login, password }, 'auto', {
        apiKey: `${dotted(path)}.api_key`,
        login: `${dotted(path)}.login`,
        password: `${dotted(path)}.password_file`,
      }),
    );
    out.set(name, { ...(apiKey !== undefined ? { apiKey } : {}), ...(login !== undefined ? { login } : {}), ...(password !== undefined ? { password } : {}) });
  }
  return out;
}

function getPath(o: Obj, key: string): unknown {
  const [head, tail] = key.split('.') as [string, string | undefined];
  const v = o[head];
  return tail === undefined ? v : v && typeof v === 'object' ? (v as Obj)[tail] : undefined;
}

function targetConfig(located: Located, index: number, t: Obj, defaults: FleetSettings['defaults'], modules: Map<string, AuthModule>): Config {
  const path: Path = ['targets', index];
  const config: Record<string, unknown> = { ...defaults };
  for (const [field, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    if (!setting.perTarget) continue;
    const raw = getPath(t, setting.perTarget.key);
    if (raw === undefined) continue;
    const keyPath = [...path, ...setting.perTarget.key.split('.')];
    config[field] = located.at(keyPath, (source) => mapSetting(setting, raw, source));
  }
  config.url = located.at([...path, 'url'], (source) => parseUrl(t.url as string, source));
  const authName = t.auth as string | undefined;
  let auth: AuthModule = {};
  if (authName !== undefined) {
    const found = modules.get(authName);
    if (!found) located.fail([...path, 'auth'], `names the auth module ${authName}, which auth_modules does not define`);
    auth = found;
  }
  Object.assign(
    config,
    { apiKey: auth.apiKey, login: auth.login, password: auth.password },
    amiSettings(located, path, t.ami as Obj | undefined, modules, defaults),
  );
  const built = config as unknown as Config;
  if (built.apiVersion === 'legacy' && built.login === undefined && built.apiKey !== undefined) {
    located.fail(
      [...path, 'api_version'],
      `is legacy, but the auth module ${authName ?? ''} has an API key (legacy MikoPBX has no API keys; use login and password_file)`,
    );
  }
  return built;
}

/** A target's AMI session: an auth module with a login (the AMI user) and its password. */
function amiSettings(
  located: Located,
  path: Path,
  ami: Obj | undefined,
  modules: Map<string, AuthModule>,
  defaults: FleetSettings['defaults'],
): Pick<Config, 'amiUser' | 'amiPassword' | 'amiHost' | 'amiPort' | 'amiTls'> {
  // MIKOPBX_AMI_PORT and MIKOPBX_AMI_TLS are every target's defaults; user, password and host are per PBX.
  if (!ami) return { amiUser: undefined, amiPassword: undefined, amiHost: undefined, amiPort: defaults.amiPort, amiTls: defaults.amiTls };
  const name = ami.auth as string;
  const module = modules.get(name);
  if (!module) located.fail([...path, 'ami', 'auth'], `names the auth module ${name}, which auth_modules does not define`);
  if (module.login === undefined)
    located.fail(
      [...path, 'ami', 'auth'],
      `names the auth module ${name}, which has an API key; AMI needs a login (the AMI user) with password_file or password_env`,
    );
  return {
    amiUser: module.login,
    amiPassword: module.password,
    amiHost: ami.host as string | undefined,
    amiPort: (ami.port as number | undefined) ?? defaults.amiPort,
    amiTls: (ami.tls as boolean | undefined) ?? defaults.amiTls,
  };
}

/** A digest of everything that makes a target what it is; secrets enter only as their hash. */
function fingerprintOf(config: Config): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ ...config, apiKey: null, password: null, amiPassword: null, ca: null }));
  for (const secret of [config.apiKey, config.password, config.amiPassword, config.ca]) h.update(`\0${secret ?? ''}`);
  return h.digest('hex');
}

/**
 * Reads and validates a targets file: its schema, then what a schema cannot say (unique names,
 * auth modules that exist, readable credential files, valid URLs). Throws ConfigError naming the
 * file and line; `defaults` are the environment's settings, which each target may override.
 */
export function loadTargetsFile(file: string, defaults: FleetSettings['defaults'], env: NodeJS.ProcessEnv = process.env): TargetSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(VARIABLE, `(${file}) cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const located = new Located(file, text);
  const yamlError = located.doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? 1;
    throw new ConfigError(VARIABLE, `(${file}) line ${line}: not valid YAML: ${yamlError.message.split('\n')[0]}`);
  }
  const data: unknown = located.doc.toJS();
  if (!validate(data)) schemaProblem(located, (validate.errors as ErrorObject[])[0] as ErrorObject);
  const top = data as { auth_modules?: Obj; targets: Obj[] };
  const modules = readAuthModules(located, top.auth_modules, env);
  const seen = new Map<string, number>();
  return top.targets.map((t, i) => {
    const name = t.name as string;
    const first = seen.get(name);
    if (first !== undefined) located.fail(['targets', i, 'name'], `repeats the name ${name} of targets[${first}] (names must be unique)`);
    seen.set(name, i);
    const config = targetConfig(located, i, t, defaults, modules);
    return { name, labels: { ...((t.labels as Record<string, string> | undefined) ?? {}) }, config, fingerprint: fingerprintOf(config) };
  });
}
