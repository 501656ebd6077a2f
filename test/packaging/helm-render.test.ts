// Renders the chart with a real Helm: lint, template with every example values file, Helm's own
// schema check, install-time checks, packaging, and the helm-unittest suites (via unittest-lite).
// Helm comes from $HELM, PATH, or the cache of `npm run helm:fetch` (which .ci/run runs).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ScrapeConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { toolsRequired } from '../helpers/prometheus-tools.js';
import { toolOrSkip } from '../helpers/tools.js';
import { chartDir, ciValuesFiles, findHelm, parseManifests } from './chart.js';
import { readSuite, runTest, type Suite } from './unittest-lite.js';

// No test reaches outside the machine: helm is fetched by `.ci/run` (`npm run helm:fetch`, an
// install step like apt-get), never from here.
const helm = findHelm();
const NO_HELM = 'no helm binary (not on PATH, no $HELM, none cached by `npm run helm:fetch`)';

describe('helm for the chart tests', () => {
  it('is found (required under REQUIRE_PROMETHEUS_TOOLS=1, where .ci/run fetches it)', (ctx) => {
    if (!helm && !toolsRequired()) ctx.skip(`SKIPPED: ${NO_HELM}; run npm run helm:fetch`);
    expect(helm, NO_HELM).toBeDefined();
  });
});

let chart: string;
let work: string;

function run(args: string[]) {
  const r = spawnSync(helm!, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(...args: string[]) {
  const r = run(['template', 'mikopbx', chart, '--namespace', 'monitoring', ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseManifests(r.stdout);
}

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ofKind = (docs: Doc[], kind: string): Doc[] => docs.filter((d) => d.kind === kind);
/** Examples in fleet mode render a StatefulSet instead of the Deployment (helm-fleet.test.ts). */
const isFleet = (file: string) => (parse(readFileSync(join(chartDir, 'ci', file), 'utf8')) as Doc).fleet?.enabled === true;

describe.skipIf(!helm)('chart rendered with helm', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'helm-chart-'));
    chart = join(work, 'mikopbx-exporter');
    cpSync(chartDir, chart, { recursive: true });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is a real helm', () => {
    expect(run(['version', '--short']).stdout).toMatch(/^v[34]\./);
  });

  const exampleFiles = ciValuesFiles();
  it.each(exampleFiles)('passes helm lint --strict with ci/%s', (file) => {
    const r = run(['lint', chart, '--strict', '--values', join(chart, 'ci', file)]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it.each(exampleFiles)('renders ci/%s into a locked-down Deployment (StatefulSet in fleet mode)', (file) => {
    const docs = template('--values', join(chart, 'ci', file)) as Doc[];
    for (const doc of docs) {
      expect(doc.metadata.labels['app.kubernetes.io/name']).toBe('mikopbx-exporter');
      if (doc.metadata.namespace !== undefined) expect(doc.metadata.namespace).toBe('monitoring');
    }
    const fleet = isFleet(file);
    const workloads = docs.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
    expect(workloads.map((d) => d.kind)).toEqual([fleet ? 'StatefulSet' : 'Deployment']);
    const pod = workloads[0]!.spec.template.spec;
    const [container] = pod.containers;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.ports).toEqual([{ name: 'http-metrics', containerPort: 10745, protocol: 'TCP' }]);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    const env = new Map<string, Doc>(container.env.map((e: Doc) => [e.name, e]));
    if (fleet) expect(env.get('TARGETS_FILE')?.value).toMatch(/^\//);
    else expect(env.get('MIKOPBX_URL')?.value).toMatch(/^https?:\/\//);
    // Secrets only as files, and every *_FILE points into a mounted volume.
    expect(env.has('MIKOPBX_API_KEY') || env.has('MIKOPBX_PASSWORD')).toBe(false);
    const mounts: string[] = container.volumeMounts.map((m: Doc) => m.mountPath);
    for (const [name, e] of env) {
      if (name.endsWith('_FILE'))
        expect(
          mounts.some((m) => e.value.startsWith(`${m}/`)),
          name,
        ).toBe(true);
    }
    const volumes = new Set(pod.volumes.map((v: Doc) => v.name));
    for (const m of container.volumeMounts) expect(volumes.has(m.name)).toBe(true);
    // Every env value is a string, as Kubernetes requires.
    for (const e of container.env) if ('value' in e) expect(typeof e.value).toBe('string');
  });

  // Types, formats and required fields of the API (kubernetes-models); unknown fields are not
  // caught by these schemas, the assertions above and the helm-unittest suites cover the names.
  const models: Record<string, new (data: never) => { validate(): void }> = {
    Deployment,
    StatefulSet,
    Service,
    ServiceAccount,
    Secret,
    ConfigMap,
    ServiceMonitor,
    PrometheusRule,
    ScrapeConfig,
  };
  it.each(exampleFiles)('renders ci/%s (with every optional object on) into manifests valid for the Kubernetes API', (file) => {
    const on = ['serviceMonitor.enabled=true', 'prometheusRule.enabled=true', 'dashboard.enabled=true', 'fleet.scrapeConfig.enabled=true'];
    const docs = template('--values', join(chart, 'ci', file), ...on.flatMap((s) => ['--set', s])) as Doc[];
    const notHere = ['Secret', ...(isFleet(file) ? ['Deployment'] : ['StatefulSet', 'ScrapeConfig'])];
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(Object.keys(models).filter((k) => !notHere.includes(k))));
    for (const doc of docs) {
      const Model = models[doc.kind];
      expect(Model, `no schema for ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc as never).validate(), `${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('the API schemas catch a wrongly typed field', () => {
    const [deployment] = ofKind(template('--values', join(chart, 'ci', 'api-key-values.yaml')) as Doc[], 'Deployment');
    deployment!.spec.template.spec.containers[0].ports[0].containerPort = '10745';
    expect(() => new Deployment(deployment as never).validate()).toThrow(/containerPort/);
  });

  it('renders the PrometheusRule with the groups of files/alerts.yml unchanged', () => {
    const docs = template('--values', join(chart, 'ci', 'monitoring-values.yaml')) as Doc[];
    const [rule] = ofKind(docs, 'PrometheusRule');
    const source = parse(readFileSync(join(chart, 'files', 'alerts.yml'), 'utf8')) as { groups: unknown[] };
    expect(rule!.spec.groups).toEqual(source.groups);
    expect(rule!.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('renders a PrometheusRule whose groups pass promtool check rules', () => {
    const docs = template('--values', join(chart, 'ci', 'monitoring-values.yaml')) as Doc[];
    const [rule] = ofKind(docs, 'PrometheusRule');
    const file = join(work, 'rendered-rules.yml');
    writeFileSync(file, stringify({ groups: rule!.spec.groups }));
    const r = spawnSync(promtool!, ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('renders the dashboard ConfigMap for the Grafana sidecar with the JSON file as is', () => {
    const docs = template('--values', join(chart, 'ci', 'monitoring-values.yaml')) as Doc[];
    const [cm] = ofKind(docs, 'ConfigMap');
    expect(cm!.metadata.labels.grafana_dashboard).toBe('1');
    const json = readFileSync(join(chart, 'files', 'mikopbx-exporter.json'), 'utf8');
    expect(cm!.data['mikopbx-exporter.json'].trimEnd()).toBe(json.trimEnd());
  });

  it('renders a ServiceMonitor on the http-metrics port', () => {
    const docs = template('--values', join(chart, 'ci', 'monitoring-values.yaml')) as Doc[];
    const [sm] = ofKind(docs, 'ServiceMonitor');
    const [svc] = ofKind(docs, 'Service');
    expect(sm!.spec.endpoints[0]).toMatchObject({ port: 'http-metrics', path: '/metrics', scheme: 'http', interval: '30s' });
    expect(svc!.spec.ports[0].name).toBe('http-metrics');
    expect(svc!.metadata.labels).toMatchObject(sm!.spec.selector.matchLabels);
    expect(svc!.spec.selector).toEqual(sm!.spec.selector.matchLabels);
  });

  it('renders only the Deployment, Service and ServiceAccount (and a Secret for inline credentials) by default', () => {
    expect(
      template('--set', 'config.url=https://pbx.example.com')
        .map((d) => d.kind)
        .sort(),
    ).toEqual(['Deployment', 'Service', 'ServiceAccount']);
    expect(
      template('--values', join(chart, 'ci', 'api-key-values.yaml'))
        .map((d) => d.kind)
        .sort(),
    ).toEqual(['Deployment', 'Secret', 'Service', 'ServiceAccount']);
  });

  it('prints NOTES that tell how to check the exporter (helm install --dry-run=client, no cluster)', () => {
    const install = (...args: string[]) =>
      spawnSync(helm!, ['install', 'mikopbx', chart, '--namespace', 'monitoring', '--dry-run=client', ...args], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: join(work, 'no-kubeconfig') },
      });
    const plain = install('--values', join(chart, 'ci', 'monitoring-values.yaml'));
    expect(plain.status, plain.stderr).toBe(0);
    const notes = plain.stdout.slice(plain.stdout.indexOf('NOTES:'));
    expect(notes).toContain('kubectl -n monitoring port-forward svc/mikopbx-mikopbx-exporter 10745');
    expect(notes).toContain('curl -s http://127.0.0.1:10745/metrics');
    expect(notes).toContain('ServiceMonitor mikopbx-mikopbx-exporter');
    expect(notes).toContain('grafana_dashboard="1"');
    expect(notes).not.toContain('WARNING');
    const tls = install('--values', join(chart, 'ci', 'web-config-values.yaml'));
    expect(tls.stdout).toContain('curl -sk https://<user>:<password>@127.0.0.1:10745/metrics');
    const bare = install('--set', 'config.url=https://pbx.example.com');
    expect(bare.stdout).toContain('WARNING: no credentials are configured');
  });

  const rejected: [string, string[], RegExp][] = [
    ['a missing config.url', [], /config\.url is required/],
    ['an unknown apiVersion (schema)', ['--set', 'config.url=https://p', '--set', 'config.apiVersion=v4'], /apiVersion/],
    ['a misspelt key (schema)', ['--set', 'config.url=https://p', '--set', 'confg.url=https://p'], /confg/],
    ['a poll interval of 0 (schema)', ['--set', 'config.url=https://p', '--set', 'config.pollIntervalSeconds=0'], /pollIntervalSeconds/],
    ['a login without a password', ['--set', 'config.url=https://p', '--set', 'auth.login=admin'], /auth\.login is set/],
    ['legacy without a login', ['--set', 'config.url=https://p', '--set', 'config.apiVersion=legacy', '--set', 'auth.apiKey=k'], /legacy/],
    [
      'both a CA ConfigMap and Secret',
      ['--set', 'config.url=https://p', '--set', 'caBundle.configMap=a', '--set', 'caBundle.secret=b'],
      /only one of caBundle/,
    ],
  ];
  it.each(rejected)('refuses %s', (_name, args, message) => {
    const r = run(['template', 'mikopbx', chart, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('packages without the ci/ examples and unit tests, with the synced files', () => {
    const out = join(work, 'pkg');
    const r = run(['package', chart, '--destination', out]);
    expect(r.status, r.stderr).toBe(0);
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
    const tar = gunzipSync(readFileSync(join(out, tgz)));
    const names: string[] = [];
    for (let off = 0; off + 512 <= tar.length;) {
      const name = tar
        .subarray(off, off + 100)
        .toString('utf8')
        .replace(/\0.*$/s, '');
      if (!name) break;
      const size = parseInt(
        tar
          .subarray(off + 124, off + 136)
          .toString('utf8')
          .replace(/\0.*$/s, '')
          .trim() || '0',
        8,
      );
      names.push(name);
      off += 512 + Math.ceil(size / 512) * 512;
    }
    expect(names).toContain('mikopbx-exporter/values.schema.json');
    expect(names).toContain('mikopbx-exporter/files/alerts.yml');
    expect(names).toContain('mikopbx-exporter/files/mikopbx-exporter.json');
    expect(names).toContain('mikopbx-exporter/templates/NOTES.txt');
    expect(names.filter((n) => n.includes('/ci/') || n.endsWith('_test.yaml'))).toEqual([]);
  });

  describe('unittest-lite itself', () => {
    const suite: Suite = {
      suite: 'self-check',
      templates: ['templates/deployment.yaml'],
      release: { name: 'mikopbx', namespace: 'monitoring' },
      set: { 'config.url': 'https://pbx.example.com' },
      tests: [],
    };
    const wrong: [string, Record<string, unknown>][] = [
      ['equal', { equal: { path: 'spec.replicas', value: 2 } }],
      ['isKind', { isKind: { of: 'StatefulSet' } }],
      ['hasDocuments', { hasDocuments: { count: 2 } }],
      ['contains', { contains: { path: 'spec.template.spec.containers[0].env', content: { name: 'NOPE', value: 'x' } } }],
      ['notContains', { notContains: { path: 'spec.template.spec.containers[0].env', any: true, content: { name: 'MIKOPBX_URL' } } }],
      ['isSubset', { isSubset: { path: 'spec.template.spec.securityContext', content: { runAsUser: 0 } } }],
      ['isSubset on a nested map (compared whole)', { isSubset: { path: 'spec.template.spec.securityContext', content: { seccompProfile: {} } } }],
      ['exists', { exists: { path: 'spec.template.spec.hostNetwork' } }],
      ['notExists', { notExists: { path: 'spec.template.spec.containers[0].image' } }],
      ['matchRegex', { matchRegex: { path: 'metadata.name', pattern: '^nope' } }],
      ['failedTemplate', { failedTemplate: { errorMessage: 'anything' } }],
      ['failedTemplate pattern', { failedTemplate: { errorPattern: 'anything' } }],
      ['an unknown assertion', { isAPIVersion: { of: 'apps/v1' } }],
    ];
    it.each(wrong)('fails a wrong %s', (_kind, assertion) => {
      const test = { it: 'wrong', asserts: [assertion] };
      expect(runTest(helm!, chart, join(chart, 'tests', 'self_test.yaml'), suite, test).length).toBeGreaterThan(0);
    });
  });

  describe('helm-unittest suites', () => {
    const suiteFiles = readdirSync(join(chartDir, 'tests')).filter((f) => f.endsWith('_test.yaml'));
    const cases = suiteFiles.flatMap((file) => readSuite(join(chartDir, 'tests', file)).tests.map((t) => [file, t.it] as const));
    it.each(cases)('%s: %s', (file, name) => {
      const path = join(chart, 'tests', file);
      const suite = readSuite(path);
      const test = suite.tests.find((t) => t.it === name)!;
      expect(runTest(helm!, chart, path, suite, test)).toEqual([]);
    });
  });
});
