import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The pinned Node of the npm scripts: bench/ runs on its TypeScript type stripping.
const NODE = existsSync(`${ROOT}node_modules/.bin/node`) ? `${ROOT}node_modules/.bin/node` : process.execPath;

const ROWS = [
  '/metrics latency p50 / p99, gzip',
  '/metrics latency p50 / p99, plain',
  '/metrics throughput, gzip',
  '/metrics throughput, plain',
  'scrape latency during the run',
  'response size plain / gzip',
  'CPU of one status poll cycle',
  'CDR ingest CPU per leg',
  'RSS after warm-up',
  'RSS after a',
  'heap in use after a full GC',
  'requests to the PBX per minute',
  'series, PEER_DETAILS=false',
  'series, PEER_DETAILS=true',
];

// bench/fleet.ts: the second table, one column per fleet size
const FLEET_ROWS = [
  'fleet: targets up at the end',
  'fleet: RSS of the exporter, max',
  'fleet: RSS per target above the 1-target base',
  'fleet: CPU of the exporter, mean',
  'fleet: CPU per target above the base',
  'fleet: poll lateness p99',
  'fleet: /probe latency p50 / p99',
  'fleet: /probe p99, sent in the first 300 ms',
  'fleet: /probe response size',
  'fleet: event loop delay',
  'fleet: request slot wait p99',
  'fleet: requests in flight / queued',
  'fleet: status polls per target per minute',
  'fleet: API requests per minute',
  'machine: load average',
];

// Figures are not judged here (speed is measured only by `npm run bench`): this only keeps the
// benchmark script working, every phase at a tiny scale.
describe('npm run bench (BENCH_SMOKE=1)', () => {
  it('runs every phase and prints both tables', { timeout: 90_000 }, () => {
    const r = spawnSync(NODE, ['bench/run.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SMOKE: '1', BENCH_FLEET: '1', BENCH_FLEET_ONLY: '0', BENCH_FLEET_SIZES: '' },
      encoding: 'utf8',
      timeout: 80_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const table = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    expect(table[0]).toContain('| measure | mikopbx-exporter | prom-client per scrape | nginx, same bytes |');
    for (const row of ROWS)
      expect(
        table.some((l) => l.startsWith(`| ${row}`)),
        row,
      ).toBe(true);
    expect(table).toContain('| fleet measure | 1 target (base) | 5 targets | 10 targets | goal | verdict (smoke: not judged) |');
    for (const row of FLEET_ROWS)
      expect(
        table.some((l) => l.startsWith(`| ${row}`)),
        row,
      ).toBe(true);
    for (const line of table.slice(2)) expect(line, line).not.toMatch(/\bNaN\b|undefined/);
  });
});
