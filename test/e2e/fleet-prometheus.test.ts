// Fleet mode end to end: a real Prometheus discovers two exporter shard processes through their
// /targets (http_sd) and scrapes a 200-PBX simulated fleet, of which 10 % hang and 5 % are banned.
// Every target is scraped exactly once, its mikopbx_up is right, the healthy ones poll on time,
// no PBX gets more than its budget, and a reload that adds, removes and changes targets is right
// within one interval while unchanged targets keep their counters and sessions.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startSimFleet, writeFleetTargetsFile, type SimFleet } from '../../sim/index.js';
import { distBuilt, startExporterProcess, type ExporterProcess } from '../helpers/exporter-process.js';
import { sample } from '../helpers/exposition.js';
import { locateTools, promQuery, startPrometheus, titled, waitFor, type PromSample, type RunningServer } from '../helpers/prometheus-tools.js';

const tools = locateTools('prometheus');
const skipReason = tools.skipReason ?? (distBuilt() ? undefined : 'dist/main.js not built (npm run build)');

const COUNT = 200;
const EXTRA = 10; // members that join at the reload
const POLL = 6;
const BUDGET = 60;

interface TargetEntry {
  name: string;
  url: string;
  auth: string;
  labels: Record<string, string>;
  poll_interval_seconds?: number;
}

const vector = async (url: string, expr: string): Promise<Map<string, number>> => {
  const r = await promQuery(url, expr);
  return new Map((r.result as PromSample[]).map((s) => [s.metric.instance ?? '', Number(s.value?.[1])]));
};

describe.skipIf(skipReason !== undefined)(titled('fleet e2e: Prometheus http_sd over two shards, 200 PBXs', skipReason), () => {
  let fleet: SimFleet;
  let dir: string;
  let file: string;
  let all: { auth_modules: Record<string, unknown>; targets: TargetEntry[] };
  const shards: ExporterProcess[] = [];
  let prom: RunningServer;
  let startedAt: number;

  const writeTargets = (targets: TargetEntry[]) => writeFileSync(file, stringify({ auth_modules: all.auth_modules, targets }));
  const stateOf = (name: string) => fleet.member(name).state;

  beforeAll(async () => {
    fleet = await startSimFleet({
      count: COUNT + EXTRA,
      extensions: 6,
      providers: 2,
      activeCalls: 1,
      historyCalls: 5,
      living: false,
      legacyEvery: 10,
      // Indexes below COUNT: the members that join at the reload answer.
      hanging: Array.from({ length: 20 }, (_, i) => i * 10 + 3),
      banned: Array.from({ length: 10 }, (_, i) => i * 20 + 7),
    });
    dir = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));
    const written = await writeFleetTargetsFile(fleet, dir);
    file = written.path;
    all = parse(readFileSync(file, 'utf8')) as typeof all;
    writeTargets(all.targets.slice(0, COUNT));
    const env = {
      TARGETS_FILE: file,
      POLL_INTERVAL_SECONDS: String(POLL),
      CDR_POLL_INTERVAL_SECONDS: '10',
      COLLECTORS: 'peers,providers,calls,cdr',
      MIKOPBX_TIMEOUT_SECONDS: '2',
      MIKOPBX_MAX_REQUESTS_PER_MINUTE: String(BUDGET),
      LOG_LEVEL: 'info',
    };
    startedAt = Date.now();
    shards.push(await startExporterProcess({ ...env, SHARD: 'mikopbx-exporter-0/2' }), await startExporterProcess({ ...env, SHARD: 'mikopbx-exporter-1/2' }));
    prom = await startPrometheus({
      binary: tools.paths.prometheus as string,
      configYaml: stringify({
        global: { scrape_interval: '2s', scrape_timeout: '1s' },
        scrape_configs: [
          {
            job_name: 'mikopbx',
            http_sd_configs: shards.map((s) => ({ url: `${s.url}/targets`, refresh_interval: '2s' })),
            relabel_configs: [{ source_labels: ['__param_target'], target_label: 'instance' }],
          },
        ],
      }),
    });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all(shards.map((s) => s.stop()));
    await fleet?.close();
  });

  it('scrapes every target exactly once across the shards, with the right mikopbx_up', async () => {
    const names = all.targets.slice(0, COUNT).map((t) => t.name);
    // Each shard lists only its own targets; together they list each target once.
    const lists = await Promise.all(
      shards.map(async (s) => ((await (await s.get('/targets')).json()) as { labels: Record<string, string> }[]).map((g) => g.labels.__param_target)),
    );
    expect(lists[0]?.length).toBeGreaterThan(COUNT / 4);
    expect(lists[1]?.length).toBeGreaterThan(COUNT / 4);
    expect([...(lists[0] ?? []), ...(lists[1] ?? [])].sort()).toEqual([...names].sort());

    const expected = new Map(names.map((n) => [n, stateOf(n) === 'up' ? 1 : 0]));
    await waitFor(
      'Prometheus to see the right mikopbx_up for all 200 targets',
      async () => {
        const up = await vector(prom.url, 'mikopbx_up{job="mikopbx"}');
        if (up.size !== COUNT) return undefined;
        for (const [name, want] of expected) if (up.get(name) !== want) return undefined;
        return true;
      },
      60_000,
      1000,
    );
    const scrapes = await vector(prom.url, 'count by (instance) (up{job="mikopbx"})');
    expect(scrapes.size).toBe(COUNT);
    expect([...scrapes.values()].every((n) => n === 1)).toBe(true);
    // The user's labels came through http_sd.
    const labelled = await promQuery(prom.url, `mikopbx_up{instance="${names[0]}"}`);
    expect((labelled.result as PromSample[])[0]?.metric.customer).toBe(all.targets[0]?.labels.customer);
  }, 90_000);

  it('keeps healthy PBXs on time while 10 % hang and 5 % are banned', async () => {
    // Each healthy target's last successful status poll is at most one interval (plus a scrape) old.
    const fresh = await vector(prom.url, 'time() - mikopbx_collector_last_success_timestamp_seconds{job="mikopbx",collector="peers"}');
    const healthy = all.targets.slice(0, COUNT).filter((t) => stateOf(t.name) === 'up');
    for (const t of healthy) expect(fresh.get(t.name), t.name).toBeLessThan(POLL + 4);
    for (const shard of shards) {
      const { text } = await shard.metrics();
      // Polls start on time: the share started more than 1 s late is below 1 %.
      const count = sample(text, 'mikopbx_exporter_poll_lateness_seconds_count{schedule="status"}') ?? 0;
      const onTime = sample(text, 'mikopbx_exporter_poll_lateness_seconds_bucket{le="1",schedule="status"}') ?? 0;
      expect(count).toBeGreaterThan(50);
      expect(onTime / count).toBeGreaterThan(0.99);
      expect(sample(text, 'mikopbx_exporter_targets{state="backing_off"}')).toBeGreaterThan(0);
    }
  }, 30_000);

  it('reloads on SIGHUP within one interval: added, removed and changed targets, unchanged ones intact', async () => {
    const before = all.targets.slice(0, COUNT);
    const removed = before.filter((_, i) => i % 20 === 1).map((t) => t.name);
    const changed = before.filter((_, i) => i % 20 === 2).map((t) => t.name);
    const unchanged = before.filter((t) => !removed.includes(t.name) && !changed.includes(t.name) && stateOf(t.name) === 'up');
    const legacyUnchanged = unchanged.filter((t) => fleet.member(t.name).mode === 'legacy');
    expect(legacyUnchanged.length).toBeGreaterThan(0);
    const logins = new Map(legacyUnchanged.map((t) => [t.name, fleet.member(t.name).sim?.stats.loginAttempts ?? -1]));
    const requestsBefore = await vector(prom.url, 'sum by (instance) (mikopbx_api_requests_total{job="mikopbx"})');
    const next = [
      ...before.filter((t) => !removed.includes(t.name)).map((t) => (changed.includes(t.name) ? { ...t, poll_interval_seconds: POLL + 1 } : t)),
      ...all.targets.slice(COUNT),
    ];
    writeTargets(next);
    const reloadAt = Date.now();
    for (const s of shards) s.child.kill('SIGHUP');
    const wanted = next.map((t) => t.name).sort();
    await waitFor(
      'both shards to list the new set',
      async () => {
        const lists = await Promise.all(
          shards.map(async (s) =>
            ((await (await s.get('/targets')).json()) as { labels: Record<string, string> }[]).map((g) => g.labels.__param_target as string),
          ),
        );
        const union = lists.flat().sort();
        return JSON.stringify(union) === JSON.stringify(wanted) ? true : undefined;
      },
      POLL * 1000,
      200,
    );
    expect(Date.now() - reloadAt).toBeLessThan(POLL * 1000);
    // Added targets are up within one interval of their first poll (plus discovery and a scrape).
    await waitFor(
      'Prometheus to see the new set with the new targets up',
      async () => {
        const up = await vector(prom.url, 'mikopbx_up{job="mikopbx"}');
        if (up.size !== wanted.length) return undefined;
        for (const t of all.targets.slice(COUNT)) if (up.get(t.name) !== 1) return undefined;
        for (const name of removed) if (up.has(name)) return undefined;
        return true;
      },
      30_000,
      1000,
    );
    // Unchanged targets were not restarted: no counter went back, no legacy PBX saw a new login.
    const requestsAfter = await vector(prom.url, 'sum by (instance) (mikopbx_api_requests_total{job="mikopbx"})');
    for (const t of unchanged) expect(requestsAfter.get(t.name), t.name).toBeGreaterThanOrEqual(requestsBefore.get(t.name) ?? Infinity);
    const resets = await vector(
      prom.url,
      `sum by (instance) (resets(mikopbx_api_requests_total{job="mikopbx"}[${Math.ceil((Date.now() - startedAt) / 1000) + 10}s]))`,
    );
    for (const t of unchanged) expect(resets.get(t.name) ?? 0, t.name).toBe(0);
    for (const [name, n] of logins) expect(fleet.member(name).sim?.stats.loginAttempts, name).toBe(n);
    // Changed targets restarted with their new interval.
    const intervals = await vector(prom.url, 'mikopbx_collector_interval_seconds{job="mikopbx",collector="peers"}');
    for (const name of changed)
      if (stateOf(name) === 'up' && fleet.member(name).mode === 'v3') expect(intervals.get(name), name).toBeGreaterThanOrEqual(POLL + 1);
  }, 60_000);

  it('never sends a PBX more than its budget in any 60 s', async () => {
    // The run so far is longer than a minute; check every 60 s window of every PBX's request log.
    await waitFor('a minute of polling', async () => (Date.now() - startedAt > 62_000 ? true : undefined), 70_000, 1000);
    for (const m of fleet.members) {
      const times = (m.sim?.requests ?? [])
        .filter((r) => !r.path.startsWith('/__sim'))
        .map((r) => r.time)
        .sort((a, b) => a - b);
      let lo = 0;
      for (let hi = 0; hi < times.length; hi++) {
        while ((times[hi] as number) - (times[lo] as number) >= 60_000) lo++;
        expect(hi - lo + 1, `${m.name}: requests in 60 s`).toBeLessThanOrEqual(BUDGET);
      }
    }
  }, 80_000);
});
