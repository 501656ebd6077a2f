// Static lint of grafana/dashboards/mikopbx-exporter.json: the grafana/dashboard-linter rules
// (datasource/job/instance variables, job+instance matchers, $__rate_interval, title,
// description and unit on every panel) plus: only contract metric names and labels.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONTRACT_METRICS, lookupSeries, TARGET_LABELS } from '../helpers/contract-metrics.js';
import { allPanels, loadDashboard, panelArea, queryPanels, type DsRef, type Panel } from '../helpers/dashboard.js';
import { metricNames, scan } from '../helpers/promql.js';

const d = loadDashboard();
const panels = queryPanels(d);
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));
const vars = Object.fromEntries(d.templating.list.map((v) => [v.name, v]));

// Grafana unit ids used or plausible on this dashboard (a typo like "secs" fails).
const GRAFANA_UNITS = new Set([
  'none',
  'short',
  'percent',
  'percentunit',
  's',
  'ms',
  'dtdurations',
  'dtdurationms',
  'dateTimeAsIso',
  'dateTimeAsLocal',
  'dateTimeFromNow',
  'reqps',
  'reqpm',
  'cps',
  'cpm',
  'recps',
  'recpm',
  'ops',
  'opm',
  'bytes',
  'decbytes',
  'bool',
  'bool_on_off',
]);

function isDsVar(ds: DsRef | string | undefined): boolean {
  const uid = typeof ds === 'string' ? ds : ds?.uid;
  return uid === '$datasource' || uid === '${datasource}';
}

const title = (p: Panel): string => `panel ${p.id} "${p.title}"`;

describe('dashboard: identity', () => {
  it('is importable: uid, title, schemaVersion ~39, panels', () => {
    expect(d.uid).toBe('mikopbx-exporter');
    expect(d.title).toMatch(/MikoPBX/);
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.schemaVersion).toBeLessThanOrEqual(41);
    expect(panels.length).toBeGreaterThan(10);
  });

  it('has unique panel ids and non-overlapping panels within 24 columns', () => {
    const ids = allPanels(d).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of allPanels(d)) {
      const g = p.gridPos;
      expect(g.x + g.w, title(p)).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const k = `${x},${y}`;
          expect(cells.get(k), `${title(p)} overlaps`).toBeUndefined();
          cells.set(k, title(p));
        }
      }
    }
  });
});

describe('dashboard: variables (template-datasource/job/instance rules)', () => {
  it('has exactly one datasource variable, named datasource, labelled "Data Source", for Prometheus', () => {
    const dsVars = d.templating.list.filter((v) => v.type === 'datasource');
    expect(dsVars).toHaveLength(1);
    expect(dsVars[0]?.name).toBe('datasource');
    expect(dsVars[0]?.label).toBe('Data Source');
    expect(dsVars[0]?.query).toBe('prometheus');
  });

  it.each(['job', 'instance'])('has a %s variable: $datasource, Prometheus query, multi, include all, allValue .+', (name) => {
    const v = vars[name];
    expect(v, name).toBeDefined();
    expect(v?.type).toBe('query');
    expect(isDsVar(v?.datasource)).toBe(true);
    expect(v?.multi).toBe(true);
    expect(v?.includeAll).toBe(true);
    expect(v?.allValue).toBe('.+');
    const q = typeof v?.query === 'string' ? v.query : v?.query.query;
    expect(q).toMatch(new RegExp(`^label_values\\(mikopbx_up.*, ${name}\\)$`));
    if (name === 'instance') expect(q).toContain('job=~"$job"');
  });

  it('refreshes every query variable on time range change and uses only contract metrics in them', () => {
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      expect(v.refresh, v.name).toBe(2);
      expect(isDsVar(v.datasource), v.name).toBe(true);
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      expect(v.definition, v.name).toBe(q);
      for (const n of metricNames(q.replace(/^\w+\((.*?)(,\s*\w+)?\)$/, '$1'))) {
        expect(CONTRACT_METRICS[n], `${v.name}: ${n}`).toBeDefined();
      }
    }
  });
});

describe('dashboard: panels (panel-title-description, panel-units, panel-datasource rules)', () => {
  it('gives every panel a title, a description and a valid unit', () => {
    for (const p of panels) {
      expect(p.title.trim(), `panel ${p.id}`).not.toBe('');
      expect((p.description ?? '').trim().length, `${title(p)} description`).toBeGreaterThan(20);
      const unit = p.fieldConfig?.defaults?.unit;
      expect(unit, `${title(p)} unit`).toBeDefined();
      expect(GRAFANA_UNITS, `${title(p)} unit ${unit}`).toContain(unit);
    }
    for (const r of allPanels(d).filter((p) => p.type === 'row')) expect(r.title.trim()).not.toBe('');
  });

  it('uses the $datasource variable on every panel and target', () => {
    for (const p of panels) {
      expect(isDsVar(p.datasource), title(p)).toBe(true);
      expect((p.targets ?? []).length, `${title(p)} targets`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(isDsVar(t.datasource), `${title(p)} ${t.refId}`).toBe(true);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, title(p)).toBe(refIds.length);
    }
  });
});

describe('dashboard: queries (target-job, target-instance, target-rate-interval, target-promql rules)', () => {
  it('filters every selector of every query with job=~"$job" and instance=~"$instance"', () => {
    for (const { panel, target } of targets) {
      const sels = scan(target.expr).selectors;
      expect(sels.length, `${title(panel)} ${target.refId}: no selector`).toBeGreaterThan(0);
      for (const s of sels) {
        const m = s.matchers.map((x) => `${x.label}${x.op}"${x.value}"`);
        expect(m, `${title(panel)} ${target.refId}: ${s.name}`).toContain('job=~"$job"');
        expect(m, `${title(panel)} ${target.refId}: ${s.name}`).toContain('instance=~"$instance"');
      }
    }
  });

  it('uses [$__rate_interval] for every range (rate, irate, increase)', () => {
    for (const { panel, target } of targets) {
      const s = scan(target.expr);
      for (const r of s.ranges) expect(r, `${title(panel)} ${target.refId}`).toBe('$__rate_interval');
      const rateCalls = s.calls.filter((c) => ['rate', 'irate', 'increase'].includes(c)).length;
      expect(s.selectors.filter((x) => x.range).length, `${title(panel)} ${target.refId}`).toBeGreaterThanOrEqual(rateCalls);
    }
  });

  it('only rates counters and histogram buckets, and keeps le in histogram_quantile', () => {
    for (const { panel, target } of targets) {
      const s = scan(target.expr);
      for (const sel of s.selectors.filter((x) => x.range)) {
        const found = sel.name ? lookupSeries(sel.name) : undefined;
        expect(found && (found.def.type === 'counter' || found.def.type === 'histogram'), `${title(panel)}: ${sel.name}`).toBe(true);
      }
      if (s.calls.includes('histogram_quantile')) {
        expect(s.groupingLabels, title(panel)).toContain('le');
        expect(
          s.selectors.every((x) => x.name?.endsWith('_bucket')),
          title(panel),
        ).toBe(true);
      }
    }
  });

  it('uses only metric names, labels and label values of the contract', () => {
    const knownLabels = new Set([...TARGET_LABELS, 'le', ...Object.values(CONTRACT_METRICS).flatMap((m) => m.labels)]);
    for (const { panel, target } of targets) {
      const s = scan(target.expr);
      for (const sel of s.selectors) {
        const found = sel.name ? lookupSeries(sel.name) : undefined;
        expect(found, `${title(panel)}: unknown metric ${sel.name}`).toBeDefined();
        const allowed = [...(found?.def.labels ?? []), ...(found?.extraLabels ?? []), ...TARGET_LABELS];
        for (const m of sel.matchers) {
          expect(allowed, `${title(panel)}: ${sel.name} has no label ${m.label}`).toContain(m.label);
          const fixed = found?.def.values?.[m.label];
          if (fixed && (m.op === '=' || (m.op === '=~' && /^[a-z|]+$/.test(m.value)))) {
            for (const v of m.value.split('|')) expect(fixed, `${title(panel)}: ${sel.name}{${m.label}="${v}"}`).toContain(v);
          }
        }
      }
      for (const l of s.groupingLabels) expect(knownLabels, `${title(panel)}: label ${l}`).toContain(l);
    }
  });

  it('has legends that name only labels the query can return', () => {
    for (const { panel, target } of targets) {
      const returned = resultLabels(target.expr);
      for (const m of (target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        expect(returned, `${title(panel)} ${target.refId} legend {{${m[1]}}}`).toContain(m[1]);
      }
    }
  });
});

/** Labels an expression's result can carry (approximation good enough for these queries). */
function resultLabels(expr: string): string[] {
  const e = expr.trim();
  const by = /^(?:sum|avg|min|max|count) by \(([^)]*)\)/.exec(e);
  if (by?.[1] !== undefined) return by[1].split(',').map((x) => x.trim());
  const hq = /^histogram_quantile\([^,]+, \w+ by \(([^)]*)\)/.exec(e);
  if (hq?.[1] !== undefined)
    return hq[1]
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== 'le');
  if (/^(?:sum|avg|min|max|count)\s*\(/.test(e)) return [];
  const s = scan(e);
  const labels = new Set<string>([...TARGET_LABELS, ...s.groupingLabels]);
  for (const sel of s.selectors) for (const l of (sel.name && lookupSeries(sel.name)?.def.labels) || []) labels.add(l);
  return [...labels];
}

describe('dashboard: content required by issue 5', () => {
  const titles = panels.map((p) => p.title);
  it.each([
    'PBX API',
    'Collector success',
    'Time since last successful collection',
    'Collector run duration',
    'Extensions available',
    'Extensions by status',
    'Offline extensions',
    'Trunks',
    'Trunk registration',
    'Calls in progress by direction',
    'Calls in progress per trunk',
    'Completed calls per hour by disposition',
    'Answer ratio',
    'Missed inbound calls per hour',
    'Call duration percentiles',
    'Time to answer percentiles',
    'API requests vs. PBX rate limit',
  ])('has the panel "%s"', (t) => {
    expect(titles).toContain(t);
  });

  it('drops the metric name in every query of a merged table (rows merge on equal label columns)', () => {
    for (const p of panels.filter((x) => x.type === 'table' && (x.targets ?? []).length > 1)) {
      for (const t of p.targets ?? []) {
        // A bare selector or a filter comparison keeps __name__, which differs per query.
        expect(t.expr, `${title(p)} ${t.refId}`).not.toMatch(/^\w+\{[^}]*\}(\s*(==|!=|>|<|>=|<=)\s*[\d.]+)?$/);
      }
    }
  });

  it('shows offline extensions with names and the trunk table with name, host, state and since', () => {
    const offline = panels.find((p) => p.title === 'Offline extensions');
    expect(offline?.targets?.[0]?.expr).toMatch(
      /mikopbx_sip_peer_up\{[^}]*\} == 0\) \* on \(extension, instance, job\) group_left \(name\) mikopbx_sip_peer_info/,
    );
    const trunks = panels.find((p) => p.title === 'Trunks');
    const exprs = (trunks?.targets ?? []).map((t) => t.expr).join('\n');
    expect(exprs).toMatch(/mikopbx_provider_state\{[^}]*\} == 1\) \* on \(provider, instance, job\) group_left \(name, host/);
    expect(exprs).toContain('mikopbx_provider_state_since_timestamp_seconds');
  });

  it('counts missed inbound calls as noanswer, cancel and busy', () => {
    const p = panels.find((x) => x.title === 'Missed inbound calls per hour');
    expect(p?.targets?.[0]?.expr).toContain('direction="inbound", disposition=~"noanswer|cancel|busy"');
  });

  it('marks the PBX rate limit (200/min) on the API request panel', () => {
    const p = panels.find((x) => x.title === 'API requests vs. PBX rate limit') as Panel & {
      fieldConfig: { defaults: { thresholds?: { steps: { value: number | null }[] } } };
    };
    expect(p.fieldConfig.defaults.unit).toBe('reqpm');
    expect(p.fieldConfig.defaults.thresholds?.steps.map((s) => s.value)).toContain(200);
  });

  it('covers every area and nearly every contract metric', () => {
    const areas = new Set(panels.map(panelArea));
    for (const a of ['health', 'extensions', 'trunks', 'calls', 'cdr', 'api', 'system', 'queues']) expect(areas).toContain(a);
    const used = new Set(targets.flatMap(({ target }) => metricNames(target.expr)).map((n) => lookupSeries(n)?.metric));
    // Not shown: per-extension device counts, and fleet mode's exporter health (on the fleet
    // process's own /metrics, which has no mikopbx_up and so no place under the job/instance
    // variables of this per-PBX dashboard).
    const fleetHealth = Object.keys(CONTRACT_METRICS).filter((m) => m.startsWith('mikopbx_exporter_') && m !== 'mikopbx_exporter_build_info');
    const notShown = ['mikopbx_sip_peer_devices', ...fleetHealth];
    for (const m of Object.keys(CONTRACT_METRICS)) if (!notShown.includes(m)) expect(used, m).toContain(m);
  });
});

describe('dashboard: the Queues row (issue 15)', () => {
  const all = allPanels(d);
  const row = all.find((p) => p.type === 'row' && p.title === 'Queues') as Panel;
  const inRow = all.filter((p) => p.type !== 'row' && p.gridPos.y > row.gridPos.y);
  const named = (t: string) =>
    inRow.find((p) => p.title === t) as Panel & {
      fieldConfig: { defaults: { noValue?: string; mappings?: { options: Record<string, { text?: string }> }[] } };
    };

  it('is the last row, with callers and longest wait per queue, agents by state, abandoned ratio and service level', () => {
    expect(row).toBeDefined();
    expect(Math.max(...all.filter((p) => p.type === 'row').map((p) => p.gridPos.y))).toBe(row.gridPos.y);
    for (const t of [
      'AMI session',
      'Queues',
      'Callers waiting per queue',
      'Longest wait per queue',
      'Agents by state',
      'Abandoned ratio per queue',
      'Service level per queue',
      'Queue members',
    ]) {
      expect(inRow.map((p) => p.title)).toContain(t);
    }
  });

  it('says "AMI not configured" where the exporter has no AMI user, instead of leaving panels blank', () => {
    // The session panel falls back to mikopbx_up * 0 - 1 per instance without mikopbx_ami_up.
    const session = named('AMI session');
    expect(session.targets?.[0]?.expr).toMatch(
      /^\(mikopbx_ami_up\{[^}]*\} - 2 \* mikopbx_ami_login_refused\{[^}]*\}\) or on \(instance, job\) \(mikopbx_up\{[^}]*\} \* 0 - 1\)$/,
    );
    const texts = Object.fromEntries(Object.entries(session.fieldConfig.defaults.mappings?.[0]?.options ?? {}).map(([v, o]) => [v, o.text]));
    expect(texts).toEqual({ '1': 'Logged in', '0': 'Reconnecting', '-2': 'Login refused', '-1': 'AMI not configured' });
    // Every other panel of the row has a no-data text that names the AMI.
    for (const p of inRow.filter((x) => x.title !== 'AMI session')) expect(named(p.title).fieldConfig.defaults.noValue, p.title).toMatch(/AMI/);
  });

  it('names queues by their display name, else by the queue id, with mikopbx_queue_info', () => {
    const join =
      'group_left (name) (mikopbx_queue_info{name!="", job=~"$job", instance=~"$instance"} or label_join(mikopbx_queue_info{name="", job=~"$job", instance=~"$instance"}, "name", "", "queue"))';
    const perQueue = [
      'Callers waiting per queue',
      'Longest wait per queue',
      'Abandoned ratio per queue',
      'Service level per queue',
      'Hold and talk time per queue',
    ].map(named);
    for (const p of perQueue) for (const t of p.targets ?? []) expect(t.expr, p.title).toContain(join);
    // The tables: the first query brings the name, the others merge on queue (and member).
    expect(named('Queue members').targets?.[0]?.expr).toContain(join);
    expect(named('Queues').targets?.[0]?.expr).toContain(join.replace('group_left (name) ', ''));
  });
});

describe('grafana provisioning', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'grafana', 'provisioning');
  it('provisions a Prometheus datasource and a file dashboard provider', () => {
    const ds = parse(readFileSync(join(root, 'datasources', 'prometheus.yml'), 'utf8')) as {
      apiVersion: number;
      datasources: { type: string; url: string }[];
    };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources[0]?.type).toBe('prometheus');
    const dp = parse(readFileSync(join(root, 'dashboards', 'mikopbx.yml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(dp.apiVersion).toBe(1);
    expect(dp.providers[0]?.type).toBe('file');
    expect(dp.providers[0]?.options.path).toMatch(/^\//);
  });
});
