// Shared helpers of the Helm chart tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from './dockerfile.js';

export { repoRoot };
export const chartDir = join(repoRoot, 'helm', 'mikopbx-exporter');

export type Values = Record<string, unknown>;

export function readYaml(path: string): unknown {
  // YAML 1.1 is what Helm and Kubernetes read (0444 is octal there).
  return parse(readFileSync(path, 'utf8'), { version: '1.1' });
}

/** Every document of a multi-document YAML stream (helm template output), empty ones dropped. */
export function parseManifests(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML in rendered output: ${doc.errors[0]!.message}`);
      return doc.toJS() as Record<string, unknown> | null;
    })
    .filter((doc): doc is Record<string, unknown> => doc !== null && typeof doc === 'object');
}

export const defaultValues = (): Values => readYaml(join(chartDir, 'values.yaml')) as Values;

/** values.schema.json as Ajv (strict) checks it: the errors as `<instance path> <message>`, none when valid. */
export function schemaChecker(): (values: unknown) => string[] {
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  return (v) => (validate(v) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}

export const ciValuesFiles = (): string[] =>
  readdirSync(join(chartDir, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort();

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's merge of values files: maps merge key by key, everything else is replaced. */
export function mergeValues(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(override)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeValues(b, v) : v;
  }
  return out;
}

/** The value at a dotted path, or undefined when some part is missing. */
export function lookup(values: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = values;
  for (const part of path.split('.')) {
    if (!isObject(cur) || !(part in cur)) return { found: false, value: undefined };
    cur = cur[part];
  }
  return { found: true, value: cur };
}

/** Helm binary: $HELM, then helm on PATH, then the one `npm run helm:fetch` caches. */
export function findHelm(): string | undefined {
  if (process.env.HELM && existsSync(process.env.HELM)) return process.env.HELM;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'helm'))) return join(dir, 'helm');
  }
  const cacheDir = join(repoRoot, 'node_modules', '.cache', 'mikopbx-exporter');
  const cached = existsSync(cacheDir) ? readdirSync(cacheDir).find((f) => f.startsWith('helm-')) : undefined;
  return cached ? join(cacheDir, cached) : undefined;
}
