// Checks of the Helm chart that need no helm binary: values schema, Chart.yaml, values/template
// consistency, contract coverage, README and helm-unittest suites. Rendering: helm-render.test.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument, isMap, isScalar, type YAMLMap } from 'yaml';
import { chartDir, ciValuesFiles, defaultValues, lookup, mergeValues, readYaml, repoRoot, schemaChecker, type Values } from './chart.js';
import { toolsRequired } from '../helpers/prometheus-tools.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; license: string };
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
const values = defaultValues();
const errorsOf = schemaChecker();

const templateFiles = readdirSync(join(chartDir, 'templates')).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f));
const templateText = (f: string) => readFileSync(join(chartDir, 'templates', f), 'utf8');
const allTemplates = templateFiles.map(templateText).join('\n');

describe('values.schema.json', () => {
  it('is a draft-07 schema that is strict at the top level', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
  });

  it('accepts values.yaml', () => {
    expect(errorsOf(values)).toEqual([]);
  });

  it.each(ciValuesFiles())('accepts values.yaml merged with ci/%s', (file) => {
    const merged = mergeValues(values, readYaml(join(chartDir, 'ci', file)) as Values);
    expect(errorsOf(merged)).toEqual([]);
  });

  const invalid: [string, Values, string][] = [
    ['an unknown top-level key (typo)', { confg: { url: 'https://pbx' } }, '/'],
    ['an unknown config key', { config: { pollInterval: 30 } }, '/config'],
    ['apiVersion outside auto/v3/legacy', { config: { apiVersion: 'v4' } }, '/config/apiVersion'],
    ['an unknown log level', { config: { logLevel: 'verbose' } }, '/config/logLevel'],
    ['a poll interval of 0', { config: { pollIntervalSeconds: 0 } }, '/config/pollIntervalSeconds'],
    ['a fractional CDR interval', { config: { cdrPollIntervalSeconds: 1.5 } }, '/config/cdrPollIntervalSeconds'],
    ['an interval given as a string', { config: { pollIntervalSeconds: '30' } }, '/config/pollIntervalSeconds'],
    ['a timeout of 0', { config: { timeoutSeconds: 0 } }, '/config/timeoutSeconds'],
    ['a request budget of 0', { config: { maxRequestsPerMinute: 0 } }, '/config/maxRequestsPerMinute'],
    ['an unknown collector', { config: { collectors: ['peers', 'queues'] } }, '/config/collectors/1'],
    ['no collector at all', { config: { collectors: [] } }, '/config/collectors'],
    ['a URL that is not http(s)', { config: { url: 'ftp://pbx.example.com' } }, '/config/url'],
    ['a URL with credentials', { config: { url: 'https://admin:secret@pbx.example.com' } }, '/config/url'],
    ['a listen port above 65535', { config: { listenPort: 70000 } }, '/config/listenPort'],
    ['an API key with whitespace', { auth: { apiKey: 'abc def' } }, '/auth/apiKey'],
    ['an unknown auth key', { auth: { token: 'x' } }, '/auth'],
    ['an invalid Secret name', { auth: { existingSecret: { name: 'My_Secret' } } }, '/auth/existingSecret/name'],
    ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, '/image/pullPolicy'],
    ['a digest without sha256:', { image: { digest: 'abc' } }, '/image/digest'],
    ['an unknown web config key', { webConfig: { config: { tls_config: {} } } }, '/webConfig/config'],
    ['a scrape interval without unit', { serviceMonitor: { interval: '30' } }, '/serviceMonitor/interval'],
    ['a numeric dashboard label value', { dashboard: { labelValue: 1 } }, '/dashboard/labelValue'],
    ['a probe scheme other than HTTP/HTTPS', { livenessProbe: { httpGet: { scheme: 'TCP' } } }, '/livenessProbe/httpGet/scheme'],
    ['two replicas (each would poll the PBX)', { replicaCount: 2 }, '/replicaCount'],
    ['a non-string pod annotation', { podAnnotations: { 'a/b': 1 } }, '/podAnnotations/a~1b'],
  ];
  it.each(invalid)('rejects %s', (_name, override, path) => {
    const errors = errorsOf(mergeValues(values, override));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => e.startsWith(`${path} `))).toBe(true);
  });
});

describe('Chart.yaml', () => {
  const chart = readYaml(join(chartDir, 'Chart.yaml')) as Record<string, unknown>;

  it('is complete', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('mikopbx-exporter');
    expect(chart.type).toBe('application');
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    expect(String(chart.description).length).toBeGreaterThan(20);
    expect(chart.home).toMatch(/^https:\/\//);
    expect((chart.sources as string[]).length).toBeGreaterThan(0);
    expect((chart.maintainers as { name?: string }[]).every((m) => m.name)).toBe(true);
    expect(chart.kubeVersion).toMatch(/^>=\s*1\.\d+/);
  });

  it('deploys the version in package.json', () => {
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('names the same source repository as the Docker image', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ARG SOURCE=${String(chart.home)}`);
  });
});

describe('values.yaml and templates', () => {
  const referenced = [...new Set([...allTemplates.matchAll(/\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g)].map((m) => m[1]!))];

  it('every .Values path used in a template exists in values.yaml', () => {
    const missing = referenced.filter((path) => !lookup(values, path).found);
    expect(missing).toEqual([]);
  });

  it('every top-level key of values.yaml is used by a template', () => {
    const used = new Set(referenced.map((p) => p.split('.')[0]));
    expect(Object.keys(values).filter((k) => !used.has(k))).toEqual([]);
  });

  it('every setting under config is used by the pod template (Deployment and StatefulSet)', () => {
    const pod = templateText('_pod.tpl');
    const unused = Object.keys(values.config as Values).filter((k) => !pod.includes(`.Values.config.${k}`));
    expect(unused).toEqual([]);
  });

  it('the security defaults are restrictive', () => {
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    for (const ctx of [values.podSecurityContext, values.securityContext] as Values[]) {
      expect(Number.isInteger(ctx.runAsUser) && (ctx.runAsUser as number) > 0).toBe(true);
      expect(Number.isInteger(ctx.runAsGroup) && (ctx.runAsGroup as number) > 0).toBe(true);
    }
    expect(values.automountServiceAccountToken).toBe(false);
    expect(lookup(values, 'serviceMonitor.interval').value).toBe('30s');
    expect(lookup(values, 'dashboard.label').value).toBe('grafana_dashboard');
    expect(lookup(values, 'dashboard.labelValue').value).toBe('1');
  });

  it('the default port matches the image and the contract', () => {
    expect(lookup(values, 'config.listenPort').value).toBe(10745);
    expect(lookup(values, 'service.port').value).toBe(10745);
  });
});

// ../shared/contract.md §2, one row per setting; a row can name several variables.
const CONTRACT_ROWS: string[][] = [
  ['MIKOPBX_URL'],
  ['MIKOPBX_API_KEY', 'MIKOPBX_API_KEY_FILE'],
  ['MIKOPBX_LOGIN', 'MIKOPBX_PASSWORD', 'MIKOPBX_PASSWORD_FILE'],
  ['MIKOPBX_API_VERSION'],
  ['MIKOPBX_TLS_INSECURE_SKIP_VERIFY'],
  ['MIKOPBX_CA_FILE'],
  ['MIKOPBX_TIMEOUT_SECONDS'],
  ['POLL_INTERVAL_SECONDS'],
  ['CDR_POLL_INTERVAL_SECONDS'],
  ['COLLECTORS'],
  ['PEER_DETAILS'],
  ['LISTEN_ADDRESS'],
  ['LISTEN_PORT'],
  ['MIKOPBX_MAX_REQUESTS_PER_MINUTE'],
  ['WEB_CONFIG_FILE'],
  ['LOG_LEVEL'],
];
/** Passed only as *_FILE: a Secret mounted as a file, never a plain environment value. */
const SECRETS = ['MIKOPBX_API_KEY', 'MIKOPBX_PASSWORD'];

describe('contract §2 configuration in the pod template', () => {
  const contractPath = join(repoRoot, '..', 'shared', 'contract.md');

  it('the list here is the one in ../shared/contract.md §2', (ctx) => {
    // CI has ../shared beside the clone: there a missing contract is a failure, not a skip.
    if (!existsSync(contractPath) && !toolsRequired()) ctx.skip(`SKIPPED: no ${contractPath} beside this clone`);
    const text = readFileSync(contractPath, 'utf8');
    const section = text.slice(text.indexOf('## 2.'), text.indexOf('## 3.'));
    const rows = section
      .split('\n')
      .filter((l) => /^\|\s*`/.test(l))
      .map((l) => [...l.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect(rows).toEqual(CONTRACT_ROWS);
  });

  const pod = templateText('_pod.tpl');
  const setsVariable = (name: string) => new RegExp(`- name: ${name}\\s*$`, 'm').test(pod);

  it.each(CONTRACT_ROWS.flat().filter((v) => !SECRETS.includes(v)))('sets %s', (name) => {
    expect(setsVariable(name)).toBe(true);
  });

  it.each(SECRETS)('passes %s only as a file', (name) => {
    expect(setsVariable(`${name}_FILE`)).toBe(true);
    expect(setsVariable(name)).toBe(false);
  });
});

describe('YAML files of the chart', () => {
  const files = [
    'Chart.yaml',
    'values.yaml',
    ...ciValuesFiles().map((f) => `ci/${f}`),
    ...readdirSync(join(chartDir, 'tests'))
      .filter((f) => f.endsWith('_test.yaml'))
      .map((f) => `tests/${f}`),
  ];
  it.each(files)('%s parses as YAML', (file) => {
    const doc = parseDocument(readFileSync(join(chartDir, file), 'utf8'), { version: '1.1' });
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
  });
});

/** Dotted paths of the values.yaml keys that carry a `# --` description (helm-docs convention). */
function documentedPaths(): string[] {
  const doc = parseDocument(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  const out: string[] = [];
  const walk = (map: YAMLMap, prefix: string) => {
    map.items.forEach((pair, index) => {
      if (!isScalar(pair.key)) return;
      const path = `${prefix}${String(pair.key.value)}`;
      // The comment above the first key of a nested map belongs to the map in the YAML model.
      const comment = [index === 0 ? (map.commentBefore ?? '') : '', pair.key.commentBefore ?? ''].join('\n');
      if (comment.split('\n').some((line) => line.trim().startsWith('-- '))) out.push(path);
      if (isMap(pair.value)) walk(pair.value, `${path}.`);
    });
  };
  if (isMap(doc.contents)) walk(doc.contents, '');
  return out;
}

describe('chart README', () => {
  const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
  const documented = documentedPaths();

  it('documents every setting of values.yaml in its values table', () => {
    expect(documented.length).toBeGreaterThan(40);
    expect(documented.filter((p) => !rows.includes(p))).toEqual([]);
  });

  it('lists no setting that values.yaml does not have', () => {
    expect(rows.filter((p) => !lookup(values, p).found)).toEqual([]);
  });

  it('covers every leaf of values.yaml by its own row or a parent row', () => {
    const leaves: string[] = [];
    const walk = (v: unknown, prefix: string) => {
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
        for (const [k, child] of Object.entries(v)) walk(child, prefix ? `${prefix}.${k}` : k);
      } else leaves.push(prefix);
    };
    walk(values, '');
    expect(leaves.filter((leaf) => !documented.some((d) => leaf === d || leaf.startsWith(`${d}.`)))).toEqual([]);
  });

  it('says which checks need helm or docker', () => {
    expect(readme).toMatch(/helm unittest/);
    expect(readme).toMatch(/not run/i);
  });
});

describe('helm-unittest suites (tests/*_test.yaml)', () => {
  const suites = readdirSync(join(chartDir, 'tests')).filter((f) => f.endsWith('_test.yaml'));

  it('exist', () => {
    expect(suites.length).toBeGreaterThanOrEqual(4);
  });

  it.each(suites)('%s names existing templates and has asserts in every test', (file) => {
    const suite = readYaml(join(chartDir, 'tests', file)) as { suite?: string; templates?: string[]; tests?: { it?: string; asserts?: unknown[] }[] };
    expect(suite.suite).toBeTruthy();
    for (const t of suite.templates ?? []) expect(templateFiles).toContain(t.replace(/^templates\//, ''));
    expect(suite.tests?.length).toBeGreaterThan(0);
    for (const test of suite.tests ?? []) {
      expect(test.it).toBeTruthy();
      expect(test.asserts?.length).toBeGreaterThan(0);
    }
  });
});
