// Every dashboard query against a real Prometheus that scrapes a realistic exposition
// (test/fixtures/exposition-sample.prom) every second, with the alert rules loaded too.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_METRICS } from '../helpers/contract-metrics.js';
import { describeOutcomes, loadDashboard, queryPanels, runDashboardQueries, substitute, variableAsQuery, type QueryOutcome } from '../helpers/dashboard.js';
import {
  locateTools,
  promQuery,
  resultSize,
  runTool,
  titled,
  waitFor,
  startPrometheus,
  type PromSample,
  type RunningServer,
} from '../helpers/prometheus-tools.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = readFileSync(join(root, 'test', 'fixtures', 'exposition-sample.prom'), 'utf8');
const rules = readFileSync(join(root, 'prometheus', 'alerts.yml'), 'utf8');
const tools = locateTools('prometheus', 'promtool');

/**
 * The fixture as the n-th scrape sees it: counters and histogram series grow by 10 % of their
 * fixture value per scrape (so rate() has data), last-success timestamps are "now".
 */
function exposition(n: number, nowSeconds: number): string {
  return fixture
    .split('\n')
    .map((line) => {
      if (line.startsWith('#') || line.trim() === '') return line;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
      if (!m?.[1] || !m[3]) throw new Error(`bad fixture line: ${line}`);
      const [, name, labels = '', value] = m;
      let v = Number(value);
      if (/_(total|bucket|sum|count)$/.test(name)) v = v * (1 + n / 10);
      if (name === 'mikopbx_collector_last_success_timestamp_seconds') v = nowSeconds - 1;
      return `${name}${labels} ${v}`;
    })
    .join('\n');
}

/** The same exposition from an exporter without an AMI user: no AMI, queue or Asterisk series. */
function withoutAmi(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/mikopbx_(ami|queue|asterisk)_/.test(line) && !/collector="(queues|asterisk)"/.test(line))
    .join('\n');
}

describe('test/fixtures/exposition-sample.prom', () => {
  it('has every contract metric', () => {
    for (const name of Object.keys(CONTRACT_METRICS)) expect(fixture, name).toContain(`# TYPE ${name} `);
  });

  it.skipIf(tools.skipReason)('passes promtool check metrics, also as served (scaled counters)', () => {
    for (const text of [fixture, exposition(7, 1767225600)]) {
      const r = runTool(tools.paths.promtool as string, ['check', 'metrics'], undefined, text);
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });
});

describe(titled('dashboard queries on a real Prometheus scraping the sample exposition', tools.skipReason), () => {
  let server: Server | undefined;
  let noAmiServer: Server | undefined;
  let prom: RunningServer | undefined;
  let instance = '';
  let noAmiInstance = '';
  let outcomes: QueryOutcome[] = [];
  const d = loadDashboard();

  beforeAll(async () => {
    if (tools.skipReason) return;
    let scrapes = 0;
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(exposition(scrapes++, Date.now() / 1000));
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    instance = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A second exporter of the same job, without an AMI user.
    let noAmiScrapes = 0;
    noAmiServer = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(withoutAmi(exposition(noAmiScrapes++, Date.now() / 1000)));
    });
    await new Promise<void>((r) => noAmiServer?.listen(0, '127.0.0.1', r));
    noAmiInstance = `127.0.0.1:${(noAmiServer.address() as AddressInfo).port}`;
    prom = await startPrometheus({
      binary: tools.paths.prometheus as string,
      extraFiles: { 'alerts.yml': rules },
      configYaml: [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [alerts.yml]',
        'scrape_configs:',
        '  - job_name: mikopbx',
        `    static_configs: [{ targets: ['${instance}', '${noAmiInstance}'] }]`,
        '',
      ].join('\n'),
    });
    const url = prom.url;
    // At least 6 scrapes, so that [4s] ranges hold several samples.
    await waitFor(
      '6 scrapes of the sample exposition',
      async () => {
        const r = await promQuery(url, `count_over_time(mikopbx_up{job="mikopbx"}[1m]) >= 6`);
        return resultSize(r) > 0 ? true : undefined;
      },
      30_000,
      500,
    );
    outcomes = await runDashboardQueries(url, d, {
      job: 'mikopbx',
      instance,
      rateInterval: '4s',
      interval: '1s',
      range: '1m',
    });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await new Promise<void>((r) => (noAmiServer ? noAmiServer.close(() => r()) : r()));
  });

  it.skipIf(tools.skipReason)('runs every panel query without an error', () => {
    expect(outcomes.length).toBeGreaterThan(30);
    const failed = outcomes.filter((o) => o.error);
    expect(describeOutcomes(failed)).toBe('');
  });

  it.skipIf(tools.skipReason)('gets data for every query of every panel (the sample has every metric)', () => {
    const empty = outcomes.filter((o) => o.series === 0);
    expect(describeOutcomes(empty)).toBe('');
  });

  it.skipIf(tools.skipReason)('gets numbers (not only NaN) for the extensions, trunks, calls, CDR and queue panels', () => {
    const nan = outcomes.filter((o) => ['extensions', 'trunks', 'calls', 'cdr', 'queues'].includes(o.area) && o.numeric === 0);
    expect(describeOutcomes(nan)).toBe('');
    for (const area of ['extensions', 'trunks', 'calls', 'cdr', 'queues']) {
      expect(outcomes.filter((o) => o.area === area).length, area).toBeGreaterThan(0);
    }
  });

  it.skipIf(tools.skipReason)('lists the offline extensions with their names, and the trunk table rows', () => {
    const offline = outcomes.find((o) => o.panel.title === 'Offline extensions');
    expect(offline?.series).toBe(2); // 204 Warehouse and 205 (no name)
    const trunks = outcomes.filter((o) => o.panel.title === 'Trunks');
    expect(trunks.find((o) => o.target.refId === 'A')?.series).toBe(5);
  });

  // Legacy MikoPBX exports name="" for every trunk (IAX-1700000001 in the sample): the trunk
  // panels show the provider id instead of a blank legend or cell.
  it.skipIf(tools.skipReason)('names every trunk in the trunk panels, by its id where it has no description', async () => {
    const url = (prom as RunningServer).url;
    const named = queryPanels(d).flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr.includes('group_left') && t.expr.includes('mikopbx_provider_info')).map((t) => ({ p, t })),
    );
    expect(named.map(({ p }) => p.title).sort()).toEqual([
      'Calls in progress per trunk',
      'Completed calls per hour per trunk',
      'Trunk registration',
      'Trunk round-trip time',
      'Trunks',
    ]);
    for (const { p, t } of named) {
      const expr = substitute(t.expr, { job: 'mikopbx', instance, rateInterval: '4s', interval: '1s', range: '1m' });
      const series = (await promQuery(url, expr)).result as PromSample[];
      const names = Object.fromEntries(series.map((s) => [s.metric.provider, s.metric.name]));
      expect(names['IAX-1700000001'], p.title).toBe('IAX-1700000001');
      for (const [provider, name] of Object.entries(names)) expect(name, `${p.title}: ${provider}`).toMatch(/\S/);
      if ('SIP-TRUNK-3F9A1C7B' in names) expect(names['SIP-TRUNK-3F9A1C7B'], p.title).toBe('Main carrier');
    }
  });

  it.skipIf(tools.skipReason)('names every queue in the queue panels, by its id where the PBX gives no name', async () => {
    const url = (prom as RunningServer).url;
    const named = queryPanels(d).flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr.includes('group_left (name)') && t.expr.includes('mikopbx_queue_info')).map((t) => ({ p, t })),
    );
    expect(named.length).toBeGreaterThanOrEqual(6);
    for (const { p, t } of named) {
      const expr = substitute(t.expr, { job: 'mikopbx', instance, rateInterval: '4s', interval: '1s', range: '1m' });
      const series = (await promQuery(url, expr)).result as PromSample[];
      const names = Object.fromEntries(series.map((s) => [s.metric.queue, s.metric.name]));
      expect(Object.keys(names).length, p.title).toBeGreaterThan(0);
      if ('QUEUE-C0FFEE01' in names) expect(names['QUEUE-C0FFEE01'], p.title).toBe('QUEUE-C0FFEE01');
      if ('QUEUE-7B30D4F1' in names) expect(names['QUEUE-7B30D4F1'], p.title).toBe('Отдел "Доставка"');
      for (const [queue, name] of Object.entries(names)) expect(name, `${p.title}: ${queue}`).toMatch(/\S/);
    }
  });

  // The AMI session panel says which exporters have no AMI user, rather than showing nothing.
  it.skipIf(tools.skipReason)('shows "AMI not configured" (-1) for an exporter without an AMI user, and 1 for one logged in', async () => {
    const url = (prom as RunningServer).url;
    const session = queryPanels(d).find((p) => p.title === 'AMI session');
    // Both exporters at once, as with Instance = All.
    const expr = (session?.targets?.[0]?.expr ?? '').replaceAll('$job', 'mikopbx').replaceAll('$instance', '.+');
    const values = Object.fromEntries(((await promQuery(url, expr)).result as PromSample[]).map((s) => [s.metric.instance, s.value?.[1]]));
    expect(values).toEqual({ [instance]: '1', [noAmiInstance]: '-1' });
    // Every other panel of the row is empty there, and shows its no-data text.
    const queuePanels = queryPanels(d).filter((p) => (p.targets ?? []).some((t) => /mikopbx_(queue|asterisk)_/.test(t.expr)));
    for (const p of queuePanels) {
      for (const t of p.targets ?? []) {
        const r = await promQuery(url, substitute(t.expr, { job: 'mikopbx', instance: noAmiInstance, rateInterval: '4s', interval: '1s', range: '1m' }));
        expect(resultSize(r), `${p.title} ${t.refId}`).toBe(0);
      }
    }
  });

  it.skipIf(tools.skipReason)('resolves the job, instance and trunk variables', async () => {
    const url = (prom as RunningServer).url;
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const q = variableAsQuery(v) as string;
      const r = await promQuery(url, q.replaceAll('$job', 'mikopbx').replaceAll('$instance', instance.replace(/\./g, '\\\\.')));
      expect(resultSize(r), v.name).toBeGreaterThan(0);
      if (v.name === 'provider') {
        // Grafana's query_result() text for each series, then the variable's regex.
        const re = new RegExp((v.regex ?? '').replace(/^\/(.*)\/$/, '$1'));
        const texts = (r.result as PromSample[]).map((s) => {
          const { __name__: metric, ...labels } = s.metric;
          const body = Object.keys(labels)
            .sort()
            .map((k) => `${k}="${labels[k]}"`)
            .join(', ');
          return `${metric}{${body}} 1 ${Date.now()}`;
        });
        const options = texts
          .map((t) => re.exec(t)?.groups)
          .map((g) => `${g?.value}=${g?.text}`)
          .sort();
        expect(options).toContain('SIP-TRUNK-3F9A1C7B=Main carrier');
        expect(options).toContain('IAX-1700000001=IAX-1700000001'); // no description: its id
        expect(options).toHaveLength(5);
      }
    }
  });

  it.skipIf(tools.skipReason)('evaluates every alert rule without an error on real data', async () => {
    const url = (prom as RunningServer).url;
    const groups = await waitFor(
      'rule evaluation',
      async () => {
        const res = await fetch(`${url}/api/v1/rules`);
        const json = (await res.json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string; evaluationTime: number; lastEvaluation: string }[] }[] };
        };
        const all = json.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
      },
      15_000,
    );
    for (const r of groups) expect(`${r.name}: ${r.health} ${r.lastError ?? ''}`.trim()).toBe(`${r.name}: ok`);
  });
});
