#!/usr/bin/env node
/* global process, console */
// Copies the alert rules and the Grafana dashboard into the Helm chart, which can only package
// files inside its own folder: `npm run sync:chart`. With --check it changes nothing and exits 1
// when a copy is missing or differs from its source (CI runs that through the test suite).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Source in the repository → copy in the chart. Keep in step with test/packaging/sync-chart-assets.test.ts. */
const CHART_ASSETS = [
  ['prometheus/alerts.yml', 'helm/mikopbx-exporter/files/alerts.yml'],
  ['grafana/dashboards/mikopbx-exporter.json', 'helm/mikopbx-exporter/files/mikopbx-exporter.json'],
];

const check = process.argv.includes('--check');
let failed = 0;
for (const [source, copy] of CHART_ASSETS) {
  const from = join(root, source);
  const to = join(root, copy);
  if (!existsSync(from)) {
    console.error(`missing source ${source}`);
    failed++;
    continue;
  }
  const wanted = readFileSync(from);
  const current = existsSync(to) ? readFileSync(to) : undefined;
  if (current?.equals(wanted)) {
    console.log(`${copy} is up to date`);
  } else if (check) {
    console.error(`${copy} ${current ? 'differs from' : 'is missing, source'} ${source}: run \`npm run sync:chart\``);
    failed++;
  } else {
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, wanted);
    console.log(`copied ${source} -> ${relative(root, to)}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
