// Fleet mode of the chart (fleet.enabled): StatefulSet, headless Service, targets ConfigMap and
// ScrapeConfig rendered by a real Helm, the schema and install-time checks of fleet values, and
// the plain Prometheus example docs/fleet-prometheus.yml. Helm as in helm-render.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ScrapeConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { locateTools, runTool } from '../helpers/prometheus-tools.js';
import { chartDir, defaultValues, findHelm, mergeValues, parseManifests, readYaml, repoRoot, schemaChecker, type Values } from './chart.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const helm = findHelm();
const fleetFile = join(chartDir, 'ci', 'fleet-values.yaml');
const fleet = (readYaml(fleetFile) as { fleet: Values }).fleet;
const docsFile = join(repoRoot, 'docs', 'fleet-prometheus.yml');

function helmRun(args: string[]) {
  const r = spawnSync(helm!, args, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function renderText(release: string, ...args: string[]): string {
  const r = helmRun(['template', release, chartDir, '--namespace', 'monitoring', ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}
const render = (...args: string[]): Doc[] => parseManifests(renderText('mikopbx', ...args));
const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const container = (workload: Doc): Doc => workload.spec.template.spec.containers[0];
const envOf = (workload: Doc) => new Map<string, Doc>(container(workload).env.map((e: Doc) => [e.name, e]));

describe('values.schema.json for fleet mode', () => {
  const check = schemaChecker();
  const base = defaultValues();
  const on = (extra: Values): Values => mergeValues(base, { fleet: { enabled: true, ...extra } });
  const target = (extra: Values = {}) => ({ targets: [{ name: 'acme', url: 'https://pbx.acme.example', ...extra }] });
  const authModule = (m: Values) => ({ authModules: { x: m } });

  it('accepts every target override and every kind of auth module', () => {
    const overrides = {
      auth: 'x',
      labels: { customer: 'acme', site_2: 'hq' },
      collectors: ['peers', 'cdr'],
      poll_interval_seconds: 15,
      cdr_poll_interval_seconds: 120,
      system_poll_interval_seconds: 600,
      max_requests_per_minute: 30,
      timeout_seconds: 2.5,
      api_version: 'v3',
      tls: { ca_file: '/etc/mikopbx-exporter/secrets/ca.pem', insecure_skip_verify: false },
      peer_details: false,
    };
    expect(check(on({ ...target(overrides), ...authModule({ api_key_file: '/etc/mikopbx-exporter/secrets/k' }) }))).toEqual([]);
    for (const m of [{ api_key_env: 'ACME_KEY' }, { login: 'admin', password_file: '/s/pw' }, { login: 'admin', password_env: 'PW' }]) {
      expect(check(on({ ...target(), ...authModule(m) })), JSON.stringify(m)).toEqual([]);
    }
  });

  const invalid: [string, Values, string][] = [
    ['fleet with config.url (the PBXs are in the targets file)', { ...on({}), config: { ...(base.config as Values), url: 'https://pbx' } }, '/config/url'],
    ['fleet with a single-PBX API key', mergeValues(on({}), { auth: { apiKey: 'k' } }), '/auth/apiKey'],
    ['fleet with a single-PBX login', mergeValues(on({}), { auth: { login: 'admin' } }), '/auth/login'],
    ['fleet with a single-PBX Secret', mergeValues(on({}), { auth: { existingSecret: { name: 'creds' } } }), '/auth/existingSecret/name'],
    ['0 replicas', on({ replicas: 0 }), '/fleet/replicas'],
    ['a misspelt fleet key', on({ replica: 2 }), '/fleet'],
    ['a misspelt scrapeConfig key', on({ scrapeConfig: { interval: '30s', intervall: '1m' } }), '/fleet/scrapeConfig'],
    ['a scrape interval without unit', on({ scrapeConfig: { interval: '30' } }), '/fleet/scrapeConfig/interval'],
    ['0 requests in flight', on({ maxRequestsInFlight: 0 }), '/fleet/maxRequestsInFlight'],
    ['a target name with capitals', on(target({ name: 'Acme' })), '/fleet/targets/0/name'],
    ['a target name with a dot', on(target({ name: 'acme.hq' })), '/fleet/targets/0/name'],
    ['a target without url', on({ targets: [{ name: 'acme' }] }), '/fleet/targets/0'],
    ['a target URL with credentials', on(target({ url: 'https://admin:pw@pbx' })), '/fleet/targets/0/url'],
    ['a misspelt target key', on(target({ pollIntervalSeconds: 30 })), '/fleet/targets/0'],
    ['a target label named instance', on(target({ labels: { instance: 'x' } })), '/fleet/targets/0/labels'],
    ['a reserved target label', on(target({ labels: { __address__: 'x' } })), '/fleet/targets/0/labels'],
    ['a numeric target label value', on(target({ labels: { site: 1 } })), '/fleet/targets/0/labels/site'],
    ['an unknown collector of a target', on(target({ collectors: ['queues'] })), '/fleet/targets/0/collectors/0'],
    ['a target system interval below 60', on(target({ system_poll_interval_seconds: 30 })), '/fleet/targets/0/system_poll_interval_seconds'],
    ['a misspelt tls key of a target', on(target({ tls: { ca: '/x' } })), '/fleet/targets/0/tls'],
    ['an auth module with two credentials', on(authModule({ api_key_file: '/s/k', login: 'a', password_file: '/s/p' })), '/fleet/authModules/x'],
    ['an auth module login without a password', on(authModule({ login: 'admin' })), '/fleet/authModules/x'],
    ['an auth module password without a login', on(authModule({ password_file: '/s/p' })), '/fleet/authModules/x'],
    ['a relative credential path', on(authModule({ api_key_file: 'secrets/k' })), '/fleet/authModules/x/api_key_file'],
    ['a misspelt auth module key', on(authModule({ apiKeyFile: '/s/k' })), '/fleet/authModules/x'],
    ['an auth module name with capitals', on({ authModules: { Office: { api_key_env: 'K' } } }), '/fleet/authModules'],
  ];
  it.each(invalid)('rejects %s', (_name, v, path) => {
    const errors = check(v);
    expect(
      errors.some((e) => e.startsWith(`${path} `)),
      errors.join('\n'),
    ).toBe(true);
  });
});

describe.skipIf(!helm)('chart in fleet mode, rendered with helm', () => {
  const models: Record<string, new (data: never) => { validate(): void }> = { StatefulSet, Service, ServiceAccount, ConfigMap, ScrapeConfig, ServiceMonitor };

  it.each([1, 2, 5])('with %i replicas: SHARD $(POD_NAME)/N and one http_sd source per replica on the headless Service', (n) => {
    const docs = render('--values', fleetFile, '--set', `fleet.replicas=${n}`);
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'ScrapeConfig', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet']);
    for (const doc of docs) expect(() => new models[doc.kind]!(doc as never).validate(), `${doc.kind}`).not.toThrow();
    const sts = one(docs, 'StatefulSet');
    const svc = one(docs, 'Service');
    expect(sts.spec).toMatchObject({ replicas: n, podManagementPolicy: 'Parallel', serviceName: svc.metadata.name });
    expect(svc.spec.clusterIP).toBe('None');
    expect(sts.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(sts.spec.selector.matchLabels).toEqual(svc.spec.selector);

    const env = container(sts).env.map((e: Doc) => e.name as string);
    const vars = envOf(sts);
    // $(POD_NAME) is expanded only from a variable defined before it.
    expect(env.indexOf('POD_NAME')).toBeGreaterThanOrEqual(0);
    expect(env.indexOf('POD_NAME')).toBeLessThan(env.indexOf('SHARD'));
    expect(vars.get('POD_NAME')!.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(vars.get('SHARD')!.value).toBe(`$(POD_NAME)/${n}`);
    expect(vars.get('MAX_REQUESTS_IN_FLIGHT')!.value).toBe('32');
    for (const single of ['MIKOPBX_URL', 'MIKOPBX_API_KEY', 'MIKOPBX_API_KEY_FILE', 'MIKOPBX_LOGIN', 'MIKOPBX_PASSWORD', 'MIKOPBX_PASSWORD_FILE']) {
      expect(vars.has(single), single).toBe(false);
    }

    const sc = one(docs, 'ScrapeConfig');
    const expected = Array.from({ length: n }, (_, i) => `http://${sts.metadata.name}-${i}.${svc.metadata.name}.monitoring.svc:10745/targets`);
    expect(sc.spec.httpSDConfigs.map((s: Doc) => s.url)).toEqual(expected);
    expect(sc.spec).toMatchObject({ metricsPath: '/probe', scheme: 'HTTP', jobName: 'mikopbx', scrapeInterval: '30s' });
    expect(sc.spec.relabelings[0]).toEqual({ sourceLabels: ['__param_target'], targetLabel: 'instance', action: 'replace' });
    expect(sc.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(one(docs, 'ServiceMonitor').spec.selector.matchLabels).toEqual(svc.spec.selector);
  });

  it('puts fleet.authModules and fleet.targets into targets.yaml, mounted as a directory at TARGETS_FILE', () => {
    const docs = render('--values', fleetFile);
    const cm = one(docs, 'ConfigMap');
    expect(Object.keys(cm.data)).toEqual(['targets.yaml']);
    const file = parse(cm.data['targets.yaml'] as string) as Doc;
    expect(file).toEqual({ auth_modules: fleet.authModules, targets: fleet.targets });
    for (const t of file.targets) {
      expect(t.name).toMatch(/^[a-z0-9_-]+$/);
      expect(Object.keys(file.auth_modules)).toContain(t.auth);
    }
    const sts = one(docs, 'StatefulSet');
    const mount = container(sts).volumeMounts.find((m: Doc) => m.name === 'targets');
    // A subPath mount would never see the kubelet's updates of the ConfigMap.
    expect(mount).toEqual({ name: 'targets', mountPath: '/etc/mikopbx-exporter/targets', readOnly: true });
    expect(envOf(sts).get('TARGETS_FILE')!.value).toBe(`${mount.mountPath}/targets.yaml`);
    const volume = sts.spec.template.spec.volumes.find((v: Doc) => v.name === 'targets');
    expect(volume.configMap).toEqual({ name: cm.metadata.name, items: [{ key: 'targets.yaml', path: 'targets.yaml' }] });
  });

  it('mounts fleet.existingSecret read-only with mode 0400 where the auth modules point', () => {
    const sts = one(render('--values', fleetFile), 'StatefulSet');
    const mount = container(sts).volumeMounts.find((m: Doc) => m.name === 'fleet-secrets');
    expect(mount).toEqual({ name: 'fleet-secrets', mountPath: '/etc/mikopbx-exporter/secrets', readOnly: true });
    const volume = sts.spec.template.spec.volumes.find((v: Doc) => v.name === 'fleet-secrets');
    expect(volume.secret).toEqual({ secretName: fleet.existingSecret, defaultMode: 0o400 });
    expect(sts.spec.template.spec.securityContext.fsGroup).toBe(65534);
    for (const m of Object.values(fleet.authModules as Record<string, Doc>)) {
      const file = (m.api_key_file ?? m.password_file) as string;
      expect(file.startsWith(`${mount.mountPath}/`), file).toBe(true);
    }
  });

  it('runs the same container as the Deployment: security contexts, probes, resources, port, image', () => {
    const sts = one(render('--values', fleetFile), 'StatefulSet');
    const deployment = one(render('--values', join(chartDir, 'ci', 'api-key-values.yaml')), 'Deployment');
    const [a, b] = [sts.spec.template.spec, deployment.spec.template.spec];
    for (const key of ['securityContext', 'serviceAccountName', 'automountServiceAccountToken']) expect(a[key], key).toEqual(b[key]);
    for (const key of ['image', 'securityContext', 'livenessProbe', 'readinessProbe', 'resources', 'ports']) {
      expect(a.containers[0][key], key).toEqual(b.containers[0][key]);
    }
  });

  it('a change of the targets leaves the pods alone (the exporter re-reads the file); a change of replicas rolls them', () => {
    const before = render('--values', fleetFile);
    const after = render('--values', fleetFile, '--set', 'fleet.targets[0].name=other', '--set', 'fleet.targets[0].url=https://other.example');
    expect(one(after, 'ConfigMap').data).not.toEqual(one(before, 'ConfigMap').data);
    expect(one(after, 'StatefulSet')).toEqual(one(before, 'StatefulSet'));
    expect(Object.keys(one(before, 'StatefulSet').spec.template.metadata.annotations)).toEqual(['checksum/secret']);
    const scaled = one(render('--values', fleetFile, '--set', 'fleet.replicas=4'), 'StatefulSet');
    expect(scaled.spec.template).not.toEqual(one(before, 'StatefulSet').spec.template);
  });

  it('uses fleet.existingConfigMap instead of a ConfigMap of its own', () => {
    const docs = render('--set', 'fleet.enabled=true', '--set', 'fleet.existingConfigMap=my-targets');
    expect(docs.filter((d) => d.kind === 'ConfigMap')).toEqual([]);
    const sts = one(docs, 'StatefulSet');
    expect(sts.spec.template.spec.volumes.find((v: Doc) => v.name === 'targets').configMap.name).toBe('my-targets');
    // No Secret given: nothing mounted at /etc/mikopbx-exporter/secrets.
    expect(sts.spec.template.spec.volumes.map((v: Doc) => v.name)).toEqual(['targets']);
  });

  it('keeps the names within Kubernetes limits for a long release name', () => {
    const release = 'a-release-name-of-fifty-characters-for-the-fleet-x';
    expect(release).toHaveLength(50);
    const docs = parseManifests(renderText(release, '--values', fleetFile, '--set', 'fleet.replicas=10'));
    const sts = one(docs, 'StatefulSet');
    const svc = one(docs, 'Service');
    // The controller labels each pod with "<StatefulSet>-<10-character hash>" (63 at most).
    expect(sts.metadata.name.length).toBeLessThanOrEqual(52);
    expect(svc.metadata.name.length).toBeLessThanOrEqual(63);
    expect(one(docs, 'ConfigMap').metadata.name.length).toBeLessThanOrEqual(63);
    expect(one(docs, 'ScrapeConfig').spec.httpSDConfigs[9].url).toBe(`http://${sts.metadata.name}-9.${svc.metadata.name}.monitoring.svc:10745/targets`);
  });

  it('scrapes over HTTPS with the given TLS and basic auth when the web config enables TLS', () => {
    const webConfig = join(chartDir, 'ci', 'web-config-values.yaml');
    const docs = render(
      '--values',
      fleetFile,
      '--values',
      webConfig,
      '--set',
      'config.url=',
      '--set',
      'auth.existingSecret.name=',
      '--set',
      'fleet.scrapeConfig.tlsConfig.insecureSkipVerify=true',
    );
    const sc = one(docs, 'ScrapeConfig');
    expect(sc.spec.scheme).toBe('HTTPS');
    expect(sc.spec.tlsConfig).toEqual({ insecureSkipVerify: true });
    for (const source of sc.spec.httpSDConfigs) {
      expect(source.url).toMatch(/^https:\/\//);
      expect(source.tlsConfig).toEqual({ insecureSkipVerify: true });
    }
    expect(container(one(docs, 'StatefulSet')).readinessProbe.httpGet.scheme).toBe('HTTPS');
  });

  it('renders no ScrapeConfig unless fleet.scrapeConfig.enabled', () => {
    const kinds = render('--values', fleetFile, '--set', 'fleet.scrapeConfig.enabled=false').map((d) => d.kind);
    expect(kinds).not.toContain('ScrapeConfig');
  });

  it('with fleet.enabled false, fleet values change nothing: no StatefulSet, ScrapeConfig or targets ConfigMap', () => {
    const plain = renderText('mikopbx', '--set', 'config.url=https://pbx.example.com');
    const inert = renderText('mikopbx', '--set', 'config.url=https://pbx.example.com', '--set-json', `fleet=${JSON.stringify({ ...fleet, enabled: false })}`);
    expect(inert).toBe(plain);
    expect(
      parseManifests(plain)
        .map((d) => d.kind)
        .sort(),
    ).toEqual(['Deployment', 'Service', 'ServiceAccount']);
  });

  const rejected: [string, string[], RegExp][] = [
    ['fleet mode without targets', ['--set-json', 'fleet.targets=[]'], /list the PBXs in fleet\.targets, or set fleet\.existingConfigMap/],
    ['a target name used twice', ['--set', 'fleet.targets[1].name=acme-hq'], /the name "acme-hq" is used twice/],
    ['an auth that no module defines', ['--set', 'fleet.targets[0].auth=nope'], /acme-hq uses auth "nope", which fleet\.authModules does not define/],
    [
      'credential files without fleet.existingSecret',
      ['--set', 'fleet.existingSecret='],
      /points into \/etc\/mikopbx-exporter\/secrets\/: set fleet\.existingSecret/,
    ],
    [
      'inline targets together with fleet.existingConfigMap',
      ['--set', 'fleet.existingConfigMap=my-targets'],
      /fleet\.existingConfigMap is set: leave fleet\.targets and fleet\.authModules empty/,
    ],
    ['a Service that cannot be headless', ['--set', 'service.type=NodePort'], /service\.type must be ClusterIP/],
    [
      'a single-PBX variable in extraEnv',
      ['--set', 'extraEnv[0].name=MIKOPBX_URL', '--set', 'extraEnv[0].value=https://p'],
      /extraEnv must not set MIKOPBX_URL/,
    ],
    ['mode 0400 files without fsGroup', ['--set', 'podSecurityContext.fsGroup=null'], /keep podSecurityContext\.fsGroup set/],
    ['config.url (schema)', ['--set', 'config.url=https://pbx.example.com'], /config\/url/],
    ['a single-PBX API key (schema)', ['--set', 'auth.apiKey=k'], /auth\/apiKey/],
    ['0 replicas (schema)', ['--set', 'fleet.replicas=0'], /fleet\/replicas/],
  ];
  it.each(rejected)('refuses %s', (_name, args, message) => {
    const r = helmRun(['template', 'mikopbx', chartDir, '--values', fleetFile, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('prints NOTES on checking a replica and on the Prometheus side (helm install --dry-run=client)', () => {
    const install = (...args: string[]) =>
      helmRun(['install', 'mikopbx', chartDir, '--namespace', 'monitoring', '--dry-run=client', '--values', fleetFile, ...args]);
    const withOperator = install();
    expect(withOperator.status, withOperator.stderr).toBe(0);
    const notes = withOperator.stdout.slice(withOperator.stdout.indexOf('NOTES:'));
    expect(notes).toContain('3 replicas share 3 PBXs');
    expect(notes).toContain('kubectl -n monitoring port-forward pod/mikopbx-mikopbx-exporter-0 10745');
    expect(notes).toContain("curl -s 'http://127.0.0.1:10745/probe?target=<name>'");
    expect(notes).toContain('ScrapeConfig mikopbx-mikopbx-exporter');
    expect(notes).toContain("ServiceMonitor mikopbx-mikopbx-exporter scrapes the replicas' own /metrics");
    const plain = install('--set', 'fleet.scrapeConfig.enabled=false');
    expect(plain.stdout).toContain('http://mikopbx-mikopbx-exporter-0.mikopbx-mikopbx-exporter-headless.monitoring.svc:10745/targets');
  });
});

describe('docs/fleet-prometheus.yml (Prometheus without the operator)', () => {
  interface Job {
    job_name: string;
    metrics_path?: string;
    http_sd_configs?: { url: string; refresh_interval?: string }[];
    static_configs?: { targets: string[] }[];
    relabel_configs?: Record<string, unknown>[];
  }
  const config = parse(readFileSync(docsFile, 'utf8')) as { scrape_configs: Job[] };
  const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name)!;

  it('asks every replica for its targets and names the series after the target', () => {
    const pbx = job('mikopbx');
    expect(pbx.http_sd_configs).toHaveLength(2);
    expect(pbx.metrics_path).toBe('/probe');
    expect(pbx.relabel_configs).toContainEqual({ source_labels: ['__param_target'], target_label: 'instance' });
    const hosts = pbx.http_sd_configs!.map((s) => new URL(s.url).host);
    expect(job('mikopbx-exporter').static_configs![0]!.targets).toEqual(hosts);
  });

  it.skipIf(!helm)('has the sources the chart renders for release mikopbx-exporter with 2 replicas', () => {
    const docs = parseManifests(renderText('mikopbx-exporter', '--values', fleetFile, '--set', 'fleet.replicas=2'));
    const sc = one(docs, 'ScrapeConfig');
    const pbx = job('mikopbx');
    expect(pbx.http_sd_configs).toEqual(sc.spec.httpSDConfigs.map((s: Doc) => ({ url: s.url, refresh_interval: s.refreshInterval })));
    expect(pbx.job_name).toBe(sc.spec.jobName);
  });

  it('is the block shown in the chart README', () => {
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Fleet mode'), readme.indexOf('## Security'));
    const block = /```yaml\n(scrape_configs:\n[\s\S]*?)```/.exec(section)?.[1];
    expect(block, 'a yaml block starting with scrape_configs: in "Fleet mode"').toBeDefined();
    expect(parse(block!)).toEqual({ scrape_configs: config.scrape_configs });
  });

  const tools = locateTools('promtool');
  it.skipIf(tools.skipReason)('passes promtool check config', () => {
    const r = runTool(tools.paths.promtool!, ['check', 'config', docsFile]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
