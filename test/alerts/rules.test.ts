// prometheus/alerts.yml: promtool check + unit tests, and the mixin conventions checked statically.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lookupSeries, TARGET_LABELS } from '../helpers/contract-metrics.js';
import { locateTools, runTool, titled } from '../helpers/prometheus-tools.js';
import { scan } from '../helpers/promql.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rulesFile = join(root, 'prometheus', 'alerts.yml');
const testsDir = join(root, 'prometheus', 'tests');
const runbookFile = join(root, 'docs', 'runbook.md');
const RUNBOOK_BASE = 'https://github.com/mikopbx-exporter/mikopbx-exporter/blob/main/docs/runbook.md#';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesDoc {
  groups: { name: string; interval?: string; rules: Rule[] }[];
}
interface UnitTestDoc {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[] }[];
}

const rules = parse(readFileSync(rulesFile, 'utf8')) as RulesDoc;
const alerts = rules.groups.flatMap((g) => g.rules.filter((r): r is Rule & { alert: string } => typeof r.alert === 'string'));
const testFiles = readdirSync(testsDir)
  .filter((f) => f.endsWith('.yml'))
  .sort();

const promtool = locateTools('promtool');

describe(titled('promtool on prometheus/alerts.yml', promtool.skipReason), () => {
  it.skipIf(promtool.skipReason)('promtool check rules passes', () => {
    const r = runTool(promtool.paths.promtool as string, ['check', 'rules', rulesFile]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it.skipIf(promtool.skipReason)('promtool test rules prometheus/tests/*.yml passes', () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const r = runTool(promtool.paths.promtool as string, ['test', 'rules', ...testFiles], testsDir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect((r.stdout.match(/SUCCESS/g) ?? []).length).toBe(testFiles.length);
  });
});

describe('alert rule conventions', () => {
  const required: Record<string, string> = {
    MikoPBXTrunkUnregistered: 'critical',
    MikoPBXApiDown: 'critical',
    MikoPBXExporterDown: 'critical',
    MikoPBXNoExtensionsAvailable: 'warning',
    MikoPBXCollectorFailing: 'warning',
    MikoPBXCollectorStale: 'warning',
    MikoPBXHighFailedCallRatio: 'warning',
  };

  it('has the required alerts with their severities', () => {
    const bySeverity = Object.fromEntries(alerts.map((a) => [a.alert, a.labels?.severity]));
    for (const [name, severity] of Object.entries(required)) expect(bySeverity[name], name).toBe(severity);
  });

  it('names groups and alerts in CamelCase starting with MikoPBX, each alert once', () => {
    for (const g of rules.groups) expect(g.name).toMatch(/^MikoPBX[A-Z][A-Za-z0-9]*$/);
    for (const a of alerts) expect(a.alert).toMatch(/^MikoPBX[A-Z][A-Za-z0-9]*$/);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it('gives every alert a severity, summary, templated description and runbook_url', () => {
    for (const a of alerts) {
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toMatch(/\S.*\.$/);
      expect(a.annotations?.description, a.alert).toMatch(/\{\{.*\$(labels|value).*\}\}/s);
      expect(a.annotations?.runbook_url, a.alert).toBe(RUNBOOK_BASE + a.alert.toLowerCase());
    }
  });

  it('has a runbook section for every alert', () => {
    const runbook = readFileSync(runbookFile, 'utf8');
    const anchors = new Set(
      [...runbook.matchAll(/^#{2,3} +(.+?) *$/gm)].map((m) =>
        (m[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 _-]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const a of alerts) expect(anchors, `docs/runbook.md section for ${a.alert}`).toContain(a.alert.toLowerCase());
  });

  it('names trunk alerts by the trunk description (join with mikopbx_provider_info), else by id', () => {
    for (const a of alerts.filter((x) => x.expr.includes('mikopbx_provider_'))) {
      expect(a.expr, a.alert).toMatch(/group_left\s*\(\s*name\s*,\s*host\s*\)\s*mikopbx_provider_info/);
      expect(a.annotations?.description, a.alert).toContain('{{ $labels.name }}');
      // Legacy trunks have name "": fall back to the provider id (unit test in trunks_test.yml).
      expect(a.annotations?.description, a.alert).toMatch(/\{\{ if \$labels\.name \}\}.*\{\{ else \}\}\{\{ \$labels\.provider \}\}.*\{\{ end \}\}/s);
      expect(a.expr, a.alert).toContain('mikopbx_provider_state{state="off"} == 1');
    }
  });

  it('MikoPBXTrunkUnregistered waits 2m and holds a flapping trunk with keep_firing_for', () => {
    const a = alerts.find((x) => x.alert === 'MikoPBXTrunkUnregistered');
    expect(a?.for).toBe('2m');
    expect(a?.keep_firing_for).toMatch(/^\d+m$/);
  });

  it('uses only metrics and labels of the contract', () => {
    for (const a of alerts) {
      const s = scan(a.expr);
      for (const sel of s.selectors) {
        const found = sel.name ? lookupSeries(sel.name) : undefined;
        expect(found, `${a.alert}: unknown metric ${sel.name}`).toBeDefined();
        const allowed = [...(found?.def.labels ?? []), ...(found?.extraLabels ?? []), ...TARGET_LABELS];
        for (const m of sel.matchers) {
          expect(allowed, `${a.alert}: ${sel.name} has no label ${m.label}`).toContain(m.label);
          const fixed = found?.def.values?.[m.label];
          if (fixed && m.op === '=') expect(fixed, `${a.alert}: ${sel.name}{${m.label}="${m.value}"}`).toContain(m.value);
        }
      }
    }
  });

  it('has promtool unit tests for every alert, both firing and not firing', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const f of testFiles) {
      const doc = parse(readFileSync(join(testsDir, f), 'utf8')) as UnitTestDoc;
      expect(doc.rule_files, f).toEqual(['../alerts.yml']);
      for (const t of doc.tests) {
        for (const art of t.alert_rule_test ?? []) {
          ((art.exp_alerts ?? []).length > 0 ? firing : quiet).add(art.alertname);
        }
      }
    }
    for (const a of alerts) {
      expect(firing, `a test where ${a.alert} fires`).toContain(a.alert);
      expect(quiet, `a test where ${a.alert} does not fire`).toContain(a.alert);
    }
  });
});
