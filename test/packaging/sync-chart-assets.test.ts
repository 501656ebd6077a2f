// The chart ships copies of the alert rules and the dashboard (Helm can only package files inside
// the chart folder); they must be byte-identical to the sources, kept so by `npm run sync:chart`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './dockerfile.js';

/** Same list as CHART_ASSETS in scripts/sync-chart-assets.mjs. */
const ASSETS: [string, string][] = [
  ['prometheus/alerts.yml', 'helm/mikopbx-exporter/files/alerts.yml'],
  ['grafana/dashboards/mikopbx-exporter.json', 'helm/mikopbx-exporter/files/mikopbx-exporter.json'],
];

function sync(root: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'sync-chart-assets.mjs'), ...args], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('chart copies of the alert rules and the dashboard', () => {
  it('lists the same files as the sync script', () => {
    const script = readFileSync(join(repoRoot, 'scripts', 'sync-chart-assets.mjs'), 'utf8');
    for (const [source, copy] of ASSETS) expect(script).toContain(`['${source}', '${copy}']`);
  });

  it.each(ASSETS)('%s is byte-identical in the chart', (source, copy) => {
    expect(existsSync(join(repoRoot, source)), `${source} is missing`).toBe(true);
    expect(existsSync(join(repoRoot, copy)), `${copy} is missing: run npm run sync:chart`).toBe(true);
    expect(readFileSync(join(repoRoot, copy)).equals(readFileSync(join(repoRoot, source))), `${copy} differs: run npm run sync:chart`).toBe(true);
  });
});

describe('scripts/sync-chart-assets.mjs', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  function tree(): string {
    root = mkdtempSync(join(tmpdir(), 'sync-chart-'));
    mkdirSync(join(root, 'scripts'));
    cpSync(join(repoRoot, 'scripts', 'sync-chart-assets.mjs'), join(root, 'scripts', 'sync-chart-assets.mjs'));
    for (const [source] of ASSETS) {
      mkdirSync(dirname(join(root, source)), { recursive: true });
      writeFileSync(join(root, source), `content of ${source}\n`);
    }
    return root;
  }

  it('copies the files, after which --check passes', () => {
    const dir = tree();
    expect(sync(dir, '--check').status).toBe(1);
    const copied = sync(dir);
    expect(copied.status, copied.output).toBe(0);
    for (const [source, copy] of ASSETS) expect(readFileSync(join(dir, copy)).equals(readFileSync(join(dir, source)))).toBe(true);
    expect(sync(dir, '--check').status).toBe(0);
  });

  it('--check fails on a changed copy, names it, and changes nothing', () => {
    const dir = tree();
    sync(dir);
    const [source, copy] = ASSETS[0]!;
    writeFileSync(join(dir, source), 'new rules\n');
    const r = sync(dir, '--check');
    expect(r.status).toBe(1);
    expect(r.output).toContain(copy);
    expect(readFileSync(join(dir, copy), 'utf8')).toBe(`content of ${source}\n`);
  });

  it('fails when a source is missing', () => {
    const dir = tree();
    rmSync(join(dir, ASSETS[1]![0]));
    const r = sync(dir);
    expect(r.status).toBe(1);
    expect(r.output).toContain(`missing source ${ASSETS[1]![0]}`);
  });
});
