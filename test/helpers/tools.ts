import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { findTool, toolsRequired, type ToolName } from './prometheus-tools.js';

/**
 * A Debian Prometheus tool for a single test: null (the test skips itself) where it is absent,
 * except in CI (REQUIRE_PROMETHEUS_TOOLS=1), where its absence is a failure.
 */
export function toolOrSkip(name: ToolName): string | null {
  const path = findTool(name);
  if (path) return path;
  if (toolsRequired()) throw new Error(`${name} is required (REQUIRE_PROMETHEUS_TOOLS=1) but not installed; apt-get install prometheus`);
  return null;
}

/** Runs `promtool check metrics` on an exposition; returns its complaints ('' when clean). */
export function promtoolCheckMetrics(promtool: string, exposition: string): { ok: boolean; output: string } {
  try {
    const out = execFileSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { ok: true, output: out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/**
 * Asserts that `promtool check metrics` passes an exposition without a complaint. For tests that
 * skip themselves without promtool (`it.skipIf(!toolOrSkip('promtool'))`), so here it must exist.
 */
export function expectPromtoolValid(exposition: string): void {
  const promtool = findTool('promtool');
  if (!promtool) throw new Error('promtool is not installed; guard the test with toolOrSkip');
  const r = promtoolCheckMetrics(promtool, exposition);
  expect(r.output).toBe('');
  expect(r.ok).toBe(true);
}

/**
 * Checks many scraped pages at once: pages that differ only in the exporter's own process
 * metrics or durations are checked once (promtool takes ~70 ms a call), and the newest page is checked whole.
 */
export function promtoolCheckPages(promtool: string, pages: readonly string[], max = 12): string[] {
  const expositions = pages.filter((p) => p.includes('# TYPE'));
  const byPbxPart = new Map<string, string>();
  for (const page of expositions) {
    const key = page.replace(/^(process|nodejs)_.*\n/gm, '').replace(/^(mikopbx_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1');
    byPbxPart.set(key, page);
  }
  const chosen = [...byPbxPart.values()].slice(-max);
  const last = expositions.at(-1);
  if (last !== undefined && !chosen.includes(last)) chosen.push(last);
  return chosen.map((page) => promtoolCheckMetrics(promtool, page).output).filter((o) => o !== '');
}
