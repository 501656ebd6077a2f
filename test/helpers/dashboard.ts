// Reading grafana/dashboards/mikopbx-exporter.json and turning its queries into plain PromQL.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promQuery, promQueryRange, type PromSample } from './prometheus-tools.js';
import { metricNames } from './promql.js';

export const DASHBOARD_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'grafana', 'dashboards', 'mikopbx-exporter.json');

export interface DsRef {
  type?: string;
  uid?: string;
}
export interface Target {
  refId: string;
  expr: string;
  datasource?: DsRef | string;
  instant?: boolean;
  range?: boolean;
  format?: string;
  legendFormat?: string;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: DsRef | string;
  interval?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { unit?: string }; overrides?: unknown[] };
  targets?: Target[];
  panels?: Panel[];
}
export interface Variable {
  name: string;
  label?: string;
  type: string;
  query: string | { query: string };
  definition?: string;
  datasource?: DsRef | string;
  regex?: string;
  refresh?: number;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** All panels, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Panels that query Prometheus (everything but rows). */
export function queryPanels(d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row');
}

export type PanelArea = 'health' | 'extensions' | 'trunks' | 'calls' | 'cdr' | 'api' | 'system' | 'queues';

/** What a panel is about, judged by the first metric of its first query. */
export function panelArea(p: Panel): PanelArea {
  const first = metricNames(p.targets?.[0]?.expr ?? '')[0] ?? '';
  if (/^mikopbx_(calls_total|provider_calls_total|call_|cdr_)/.test(first)) return 'cdr';
  if (/^mikopbx_(active_|provider_active_calls)/.test(first)) return 'calls';
  if (/^mikopbx_provider/.test(first)) return 'trunks';
  if (/^mikopbx_sip_peer/.test(first)) return 'extensions';
  if (/^mikopbx_api_requests_total$/.test(first)) return 'api';
  if (/^mikopbx_(storage_|advice|banned_ips|clock_skew)/.test(first)) return 'system';
  if (/^mikopbx_(queue_|asterisk_|ami_)/.test(first)) return 'queues';
  return 'health';
}

export interface VariableValues {
  job: string;
  instance: string;
  provider?: string;
  rateInterval: string;
  interval: string;
  range: string;
}

/** Regex-escapes a value inside a PromQL string literal, as Grafana does (`.` → `\\.`). */
function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/**
 * Replaces Grafana variables as Grafana would for one selected job and instance
 * (multi-value variables in =~ matchers are regex-escaped).
 */
export function substitute(expr: string, v: VariableValues): string {
  const vars: Record<string, string> = {
    job: escapeRegex(v.job),
    instance: escapeRegex(v.instance),
    provider: v.provider ?? '.+',
    __rate_interval: v.rateInterval,
    __interval: v.interval,
    __range: v.range,
  };
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b) as string;
    const val = vars[name];
    if (val === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return val;
  });
  return out;
}

/** A variable's query turned into an instant PromQL query whose result lists its values. */
export function variableAsQuery(v: Variable): string | undefined {
  const q = typeof v.query === 'string' ? v.query : v.query.query;
  if (v.type !== 'query') return undefined;
  const lv = /^label_values\((.*),\s*(\w+)\)$/.exec(q.trim());
  if (lv?.[1] && lv[2]) return `group by (${lv[2]}) (${lv[1]})`;
  const qr = /^query_result\((.*)\)$/.exec(q.trim());
  if (qr?.[1]) return qr[1];
  throw new Error(`unsupported variable query ${q}`);
}

export interface QueryOutcome {
  panel: Panel;
  area: PanelArea;
  target: Target;
  expr: string;
  /** Series returned (for a range query: series with at least one point). */
  series: number;
  /** Series with at least one value that is a number (not NaN). */
  numeric: number;
  error: string | undefined;
}

/**
 * Runs every target of every panel against a Prometheus, with variables substituted: range
 * targets as a range query over the last rangeSeconds, instant targets as an instant query.
 */
export async function runDashboardQueries(promUrl: string, d: Dashboard, values: VariableValues, rangeSeconds = 20): Promise<QueryOutcome[]> {
  const out: QueryOutcome[] = [];
  const end = Math.floor(Date.now() / 1000);
  for (const panel of queryPanels(d)) {
    for (const target of panel.targets ?? []) {
      const expr = substitute(target.expr, values);
      const o: QueryOutcome = { panel, area: panelArea(panel), target, expr, series: 0, numeric: 0, error: undefined };
      try {
        const r = target.instant ? await promQuery(promUrl, expr, end) : await promQueryRange(promUrl, expr, end - rangeSeconds, end, 1);
        if (r.resultType === 'vector' || r.resultType === 'matrix') {
          const samples = r.result as PromSample[];
          const vals = samples.map((s) => (s.value ? [s.value] : (s.values ?? [])));
          o.series = vals.filter((v) => v.length > 0).length;
          o.numeric = vals.filter((v) => v.some(([, x]) => x !== 'NaN')).length;
        } else {
          o.series = 1;
          o.numeric = 1;
        }
      } catch (err) {
        o.error = String(err);
      }
      out.push(o);
    }
  }
  return out;
}

/** Human-readable list of outcomes, for assertion messages. */
export function describeOutcomes(os: QueryOutcome[]): string {
  return os
    .map((o) => `  [${o.area}] ${o.panel.title} ${o.target.refId}: ${o.error ?? `${o.series} series (${o.numeric} numeric)`}\n      ${o.expr}`)
    .join('\n');
}
