// Runs helm-unittest suites (tests/*_test.yaml) against real `helm template` output, for machines
// where the helm-unittest plugin cannot be installed. It knows only the assertions the suites use
// and refuses any other, so a suite cannot silently pass here on an assertion it does not check.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { mergeValues, parseManifests, readYaml, type Values } from './chart.js';

interface Release {
  name?: string;
  namespace?: string;
}
interface Assertion {
  template?: string;
  documentIndex?: number;
  not?: boolean;
  [kind: string]: unknown;
}
interface TestCase {
  it: string;
  template?: string;
  documentIndex?: number;
  release?: Release;
  set?: Values;
  values?: string[];
  asserts: Assertion[];
}
export interface Suite {
  suite: string;
  templates: string[];
  release?: Release;
  set?: Values;
  values?: string[];
  tests: TestCase[];
}

const KNOWN = ['hasDocuments', 'isKind', 'equal', 'notEqual', 'exists', 'notExists', 'contains', 'notContains', 'isSubset', 'failedTemplate', 'matchRegex'];

/** `set` keys are dotted paths (`config.url`); values may be maps or lists. */
function expandSet(set: Values | undefined): Values {
  let out: Values = {};
  for (const [key, value] of Object.entries(set ?? {})) {
    const parts = key.split('.');
    let nested: unknown = value;
    for (const part of parts.reverse()) nested = { [part]: nested };
    out = mergeValues(out, nested as Values);
  }
  return out;
}

/** helm-unittest paths: `a.b[0].c`, `data["api-key"]`. */
export function getPath(doc: unknown, path: string): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const m of path.matchAll(/\["([^"]+)"\]|\[(\d+)\]|([^.[\]]+)/g)) {
    const key = m[1] ?? m[3];
    if (m[2] !== undefined) {
      if (!Array.isArray(cur) || Number(m[2]) >= cur.length) return { found: false, value: undefined };
      cur = cur[Number(m[2])];
    } else if (typeof cur === 'object' && cur !== null && !Array.isArray(cur) && key! in cur) {
      cur = (cur as Values)[key!];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: cur };
}

/** helm-unittest's validateSubset: every key of `expected` deep-equals the same key of `actual`. */
function isSubset(actual: unknown, expected: unknown): boolean {
  const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(actual) || !isMap(expected)) return false;
  return Object.entries(expected).every(([k, v]) => isDeepStrictEqual(actual[k], v));
}

interface Rendered {
  /** The message of a failed render (`fail`/`required`) and helm's whole error output. */
  error: string | undefined;
  errorOutput: string;
  byTemplate: Map<string, Record<string, unknown>[]>;
}

function render(helm: string, chartDir: string, suiteDir: string, release: Release, valueFiles: string[], set: Values): Rendered {
  const work = mkdtempSync(join(tmpdir(), 'unittest-lite-'));
  try {
    const setFile = join(work, 'set.yaml');
    writeFileSync(setFile, JSON.stringify(set));
    const args = ['template', release.name ?? 'RELEASE-NAME', chartDir, '--namespace', release.namespace ?? 'NAMESPACE'];
    for (const f of valueFiles) args.push('--values', resolve(suiteDir, f));
    args.push('--values', setFile);
    const r = spawnSync(helm, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      const m = /execution error at \([^)]*\): (.*)$/m.exec(r.stderr);
      return { error: (m?.[1] ?? r.stderr).trim(), errorOutput: r.stderr, byTemplate: new Map() };
    }
    const byTemplate = new Map<string, Record<string, unknown>[]>();
    for (const chunk of r.stdout.split(/^---\s*$/m)) {
      const source = /^# Source: [^/]+\/(templates\/\S+)/m.exec(chunk)?.[1];
      if (!source) continue;
      const docs = parseManifests(chunk);
      byTemplate.set(source, [...(byTemplate.get(source) ?? []), ...docs]);
    }
    return { error: undefined, errorOutput: '', byTemplate };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function check(kind: string, spec: Values, docs: Record<string, unknown>[], rendered: Rendered): string | undefined {
  if (kind === 'failedTemplate') {
    if (rendered.error === undefined) return 'expected the template to fail, it rendered';
    const message = spec.errorMessage as string | undefined;
    if (message !== undefined && rendered.error !== message) return `failed with "${rendered.error}", expected "${message}"`;
    const pattern = spec.errorPattern as string | undefined;
    // Like helm-unittest: a regular expression, or the literal text when that does not match.
    if (pattern !== undefined && !new RegExp(pattern).test(rendered.errorOutput) && !rendered.errorOutput.includes(pattern)) {
      return `failed with "${rendered.error}", expected a match of /${pattern}/`;
    }
    return undefined;
  }
  if (rendered.error !== undefined) return `render failed: ${rendered.error}`;
  if (kind === 'hasDocuments') {
    return docs.length === spec.count ? undefined : `${docs.length} documents, expected ${String(spec.count)}`;
  }
  if (docs.length === 0) return 'no documents rendered';
  for (const [i, doc] of docs.entries()) {
    const at = spec.path === undefined ? { found: true, value: doc } : getPath(doc, spec.path as string);
    const where = `document ${i} ${String(spec.path ?? '')}`;
    switch (kind) {
      case 'isKind':
        if (doc.kind !== spec.of) return `${where}: kind ${String(doc.kind)}, expected ${String(spec.of)}`;
        break;
      case 'equal':
        if (!at.found || !isDeepStrictEqual(at.value, spec.value)) return `${where}: ${JSON.stringify(at.value)} != ${JSON.stringify(spec.value)}`;
        break;
      case 'notEqual':
        if (at.found && isDeepStrictEqual(at.value, spec.value)) return `${where}: equals ${JSON.stringify(spec.value)}`;
        break;
      case 'exists':
        if (!at.found || at.value === null) return `${where}: missing`;
        break;
      case 'notExists':
        if (at.found && at.value !== null) return `${where}: exists (${JSON.stringify(at.value)})`;
        break;
      case 'matchRegex':
        if (typeof at.value !== 'string' || !new RegExp(spec.pattern as string).test(at.value))
          return `${where}: ${JSON.stringify(at.value)} !~ ${String(spec.pattern)}`;
        break;
      case 'isSubset':
        if (!isSubset(at.value, spec.content)) return `${where}: ${JSON.stringify(at.value)} does not contain ${JSON.stringify(spec.content)}`;
        break;
      case 'contains':
      case 'notContains': {
        if (!Array.isArray(at.value)) {
          if (kind === 'notContains' && !at.found) break;
          return `${where}: not a list`;
        }
        const match = (item: unknown) => (spec.any ? isSubset(item, spec.content) : isDeepStrictEqual(item, spec.content));
        const has = at.value.some(match);
        if (kind === 'contains' && !has) return `${where}: ${JSON.stringify(at.value)} lacks ${JSON.stringify(spec.content)}`;
        if (kind === 'notContains' && has) return `${where}: contains ${JSON.stringify(spec.content)}`;
        break;
      }
    }
  }
  return undefined;
}

/** Runs one test of a suite; returns the failures (empty: passed). */
export function runTest(helm: string, chartDir: string, suitePath: string, suite: Suite, test: TestCase): string[] {
  const suiteDir = dirname(suitePath);
  const release = { ...suite.release, ...test.release };
  const set = mergeValues(expandSet(suite.set), expandSet(test.set));
  const rendered = render(helm, chartDir, suiteDir, release, [...(suite.values ?? []), ...(test.values ?? [])], set);
  const failures: string[] = [];
  for (const assertion of test.asserts) {
    const kinds = Object.keys(assertion).filter((k) => !['template', 'documentIndex', 'not'].includes(k));
    const kind = kinds[0]!;
    if (kinds.length !== 1 || !KNOWN.includes(kind) || assertion.not) {
      failures.push(`unsupported assertion ${JSON.stringify(assertion)}`);
      continue;
    }
    const template = assertion.template ?? test.template;
    const templates = template ? [template] : suite.templates;
    for (const t of templates) {
      let docs = rendered.byTemplate.get(t.startsWith('templates/') ? t : `templates/${t}`) ?? [];
      const index = assertion.documentIndex ?? test.documentIndex;
      if (index !== undefined) docs = docs[index] ? [docs[index]] : [];
      const problem = check(kind, (assertion[kind] ?? {}) as Values, docs, rendered);
      if (problem) failures.push(`${kind} on ${t}: ${problem}`);
    }
  }
  return failures;
}

export const readSuite = (path: string): Suite => readYaml(path) as Suite;
