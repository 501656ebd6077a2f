// The fleet part of `npm run bench`: one exporter process (`node dist/main.js`, TARGETS_FILE)
// polling a simulated fleet of 100, 500 and 1,000 PBXs in real time, with a Prometheus-like
// scraper on every /probe. Each size is a phase of its own: fresh simulated fleet (a process of
// its own, its CPU not counted), fresh exporter, warm-up, then a measured window. A 1-target
// phase first gives the base the per-target figures are taken above. Method: docs/performance.md.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, ExporterMain, rssBytes, SimFleetProcess } from './fleet-procs.ts';
import { bucketDelta, buckets, get, probeAll, ProbeScraper, quantileBound, sampleValue, samples, type Buckets } from './fleet-scrape.ts';
import { int, mb, ms } from './table.ts';
import { median, quantile, shippedNodeFlags } from './util.ts';

interface Timing {
  warmupSeconds: number;
  measureSeconds: number;
}

interface FleetScale {
  base: Timing;
  sizes: { count: number; timing: Timing }[];
  pollSeconds: number;
  cdrSeconds: number;
  /** warm-up waits at most this much longer for every target to be polled once */
  warmupGraceSeconds: number;
  legacyEvery: number;
  /** settings on top of the defaults */
  env: Record<string, string>;
}

const FULL: FleetScale = {
  base: { warmupSeconds: 30, measureSeconds: 30 },
  sizes: [
    { count: 100, timing: { warmupSeconds: 60, measureSeconds: 90 } },
    { count: 500, timing: { warmupSeconds: 60, measureSeconds: 90 } },
    { count: 1000, timing: { warmupSeconds: 60, measureSeconds: 120 } },
  ],
  pollSeconds: 30,
  cdrSeconds: 60,
  warmupGraceSeconds: 90,
  legacyEvery: 10,
  env: {},
};

// Tiny and fast (the test suite runs it): 2 s polls need a budget above the default 60 a minute.
const SMOKE: FleetScale = {
  base: { warmupSeconds: 2, measureSeconds: 3 },
  sizes: [
    { count: 5, timing: { warmupSeconds: 2, measureSeconds: 4 } },
    { count: 10, timing: { warmupSeconds: 2, measureSeconds: 4 } },
  ],
  pollSeconds: 2,
  cdrSeconds: 4,
  warmupGraceSeconds: 20,
  legacyEvery: 5,
  env: { MIKOPBX_MAX_REQUESTS_PER_MINUTE: '150' },
};

const PBX = { extensions: 50, providers: 5, activeCalls: 3 };

const say = (line: string): void => void process.stderr.write(`bench fleet: ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** p99 as a bucket bound, and the mean (from _sum / _count): the one-second tick alone makes 0–0.9 s. */
interface Lateness {
  bound: number;
  count: number;
  meanSeconds: number;
}

interface Phase {
  count: number;
  legacy: number;
  simStartSeconds: number;
  simRss: number;
  warmupSeconds: number;
  pendingAfterWarmup: number;
  measureSeconds: number;
  cpuPercent: number;
  rssMax: number;
  lateness: { status: Lateness; cdr: Lateness };
  slotWait: { bound: number; count: number };
  inFlightMax: number;
  queuedMax: number;
  /** worst 5 s window of prom-client's event-loop delay gauges (reset at every read of /metrics) */
  loopP99Max: number;
  loopMax: number;
  /** heap in use, lowest and highest 5 s sample (the lowest is near the live heap), and external memory */
  heapMin: number;
  heapMax: number;
  external: number;
  /** share of the wall time spent in GC pauses, and the longest major pause (bucket bound) */
  gc: { minorShare: number; majorShare: number; longestMajor: { bound: number; count: number } };
  overruns: number;
  probe: { p50: number; p99: number; count: number; errors: number; meanBytes: number; p99OnTick: number; p99OffTick: number };
  up: number;
  /** one probe without gzip, and its series, mean */
  plainBytes: number;
  series: number;
  requestsPerMinute: number;
  failedPerMinute: number;
  log: { warn: number; error: number; first: string | undefined };
  /** 1-minute load average of the machine at the end of the window (2 cores: above 2 means contention) */
  load: number;
}

const metricsAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ownMetrics = async (exporter: ExporterMain): Promise<string> => (await get(metricsAgent, `${exporter.url}/metrics`, false)).body.toString();

/** At least `timing.warmupSeconds`, then until no target is pending (or the grace runs out). */
async function warmUp(exporter: ExporterMain, timing: Timing, graceSeconds: number): Promise<{ seconds: number; pending: number }> {
  const t0 = performance.now();
  await sleep(timing.warmupSeconds * 1000);
  for (;;) {
    const pending = sampleValue(await ownMetrics(exporter), 'mikopbx_exporter_targets', { state: 'pending' });
    const seconds = (performance.now() - t0) / 1000;
    if (pending === 0 || seconds > timing.warmupSeconds + graceSeconds) return { seconds, pending };
    await sleep(1000);
  }
}

const LATENESS = 'mikopbx_exporter_poll_lateness_seconds';

function lateness(after: string, before: string, schedule: string): Lateness {
  const of = (text: string): Buckets => buckets(text, LATENESS, { schedule });
  // a schedule has no series before its first poll
  const diff = (name: string): number => sampleValue(after, name, { schedule }) - (sampleValue(before, name, { schedule }) || 0);
  return { ...quantileBound(bucketDelta(of(after), of(before)), 0.99), meanSeconds: diff(`${LATENESS}_sum`) / diff(`${LATENESS}_count`) };
}

const overruns = (text: string): number => samples(text, 'mikopbx_exporter_polls_overrun_total').reduce((n, s) => n + s.value, 0);

const GC = 'nodejs_gc_duration_seconds';

function gcFigures(after: string, before: string, wallSeconds: number): Phase['gc'] {
  // a kind has no series before its first collection
  const share = (kind: string): number => ((sampleValue(after, `${GC}_sum`, { kind }) || 0) - (sampleValue(before, `${GC}_sum`, { kind }) || 0)) / wallSeconds;
  return {
    minorShare: share('minor'),
    majorShare: share('major'),
    longestMajor: quantileBound(bucketDelta(buckets(after, GC, { kind: 'major' }), buckets(before, GC, { kind: 'major' })), 1),
  };
}

/** What the gauges of /metrics said over the window (read every 5 s). */
class GaugeMaxima {
  private inFlightMax = 0;
  private queuedMax = 0;
  private loopP99Max = 0;
  private loopMax = 0;
  private readonly heap: number[] = [];
  private external = NaN;

  note(text: string): void {
    this.inFlightMax = Math.max(this.inFlightMax, sampleValue(text, 'mikopbx_exporter_requests_in_flight'));
    this.queuedMax = Math.max(this.queuedMax, sampleValue(text, 'mikopbx_exporter_requests_queued'));
    this.loopP99Max = Math.max(this.loopP99Max, sampleValue(text, 'nodejs_eventloop_lag_p99_seconds'));
    this.loopMax = Math.max(this.loopMax, sampleValue(text, 'nodejs_eventloop_lag_max_seconds'));
    this.heap.push(sampleValue(text, 'nodejs_heap_size_used_bytes'));
    this.external = sampleValue(text, 'nodejs_external_memory_bytes');
  }

  figures() {
    const { inFlightMax, queuedMax, loopP99Max, loopMax, external } = this;
    return { inFlightMax, queuedMax, loopP99Max, loopMax, external, heapMin: Math.min(...this.heap), heapMax: Math.max(...this.heap) };
  }
}

/** The measured window: RSS every second, the gauges of /metrics every 5 s, CPU and histograms at both ends. */
async function measure(exporter: ExporterMain, seconds: number) {
  const before = await ownMetrics(exporter);
  const cpu0 = cpuSeconds(exporter.pid);
  const t0 = performance.now();
  const rss: number[] = [];
  const gauges = new GaugeMaxima();
  for (let s = 1; (performance.now() - t0) / 1000 < seconds; s++) {
    rss.push(rssBytes(exporter.pid));
    if (s % 5 === 0) gauges.note(await ownMetrics(exporter));
    await sleep(Math.max(0, t0 + s * 1000 - performance.now()));
  }
  const cpu1 = cpuSeconds(exporter.pid);
  const wall = (performance.now() - t0) / 1000;
  const after = await ownMetrics(exporter);
  gauges.note(after);
  return {
    load: os.loadavg()[0] as number,
    measureSeconds: wall,
    cpuPercent: ((cpu1 - cpu0) / wall) * 100,
    rssMax: Math.max(...rss),
    lateness: { status: lateness(after, before, 'status'), cdr: lateness(after, before, 'cdr') },
    slotWait: quantileBound(
      bucketDelta(buckets(after, 'mikopbx_exporter_request_slot_wait_seconds'), buckets(before, 'mikopbx_exporter_request_slot_wait_seconds')),
      0.99,
    ),
    ...gauges.figures(),
    gc: gcFigures(after, before, wall),
    overruns: overruns(after) - overruns(before),
  };
}

async function runPhase(scale: FleetScale, count: number, timing: Timing, nodeFlags: string[]): Promise<Phase> {
  const dir = await mkdtemp(join(os.tmpdir(), 'mikopbx-bench-fleet-'));
  let keep = false;
  const sim = await SimFleetProcess.start({ count, ...PBX, living: { tickMs: 1000 }, legacyEvery: scale.legacyEvery }, dir);
  let exporter: ExporterMain | undefined;
  let scraper: ProbeScraper | undefined;
  try {
    const { names } = sim.ready;
    exporter = await ExporterMain.start(
      {
        TARGETS_FILE: sim.ready.path,
        POLL_INTERVAL_SECONDS: String(scale.pollSeconds),
        CDR_POLL_INTERVAL_SECONDS: String(scale.cdrSeconds),
        LOG_LEVEL: 'warn',
        ...scale.env,
      },
      nodeFlags,
      join(dir, 'exporter.log'),
    );
    // Prometheus scrapes from the start; only the measured window's scrapes count.
    scraper = new ProbeScraper(exporter.url, names, scale.pollSeconds * 1000);
    scraper.start();
    const warm = await warmUp(exporter, timing, scale.warmupGraceSeconds);
    const passBefore = await probeAll(exporter.url, names);
    const tBefore = performance.now();
    scraper.reset();
    const window = await measure(exporter, timing.measureSeconds);
    const latencies = scraper.latencies;
    const probe = {
      p50: median(latencies),
      p99: quantile(latencies, 0.99),
      count: latencies.length,
      errors: scraper.errors,
      meanBytes: scraper.bytes / Math.max(1, latencies.length),
      p99OnTick: quantile(scraper.onTick, 0.99),
      p99OffTick: quantile(scraper.offTick, 0.99),
    };
    await scraper.stop();
    const minutes = (performance.now() - tBefore) / 60_000;
    const passAfter = await probeAll(exporter.url, names);
    const log = exporter.logLevels();
    if (log.error > 0) keep = true;
    return {
      count,
      legacy: sim.ready.legacy,
      simStartSeconds: sim.ready.startSeconds,
      simRss: sim.ready.rss,
      warmupSeconds: warm.seconds,
      pendingAfterWarmup: warm.pending,
      ...window,
      probe,
      up: passAfter.up,
      plainBytes: passAfter.plainBytes,
      series: passAfter.series,
      requestsPerMinute: (passAfter.requests - passBefore.requests) / minutes,
      failedPerMinute: (passAfter.failedRequests - passBefore.failedRequests) / minutes,
      log,
    };
  } catch (e) {
    keep = true;
    throw e;
  } finally {
    await scraper?.stop();
    await exporter?.stop();
    await sim.stop();
    if (keep) say(`kept ${dir} (exporter.log)`);
    else await rm(dir, { recursive: true, force: true });
  }
}

interface FleetRow {
  measure: string;
  cells: string[];
  goal?: string;
  /** judged on the largest fleet */
  met?: boolean;
}

/** `top`: the histogram's last finite bucket bound */
const bound = (b: { bound: number; count: number }, top = 10): string => {
  if (Number.isNaN(b.bound)) return 'n/a';
  if (b.bound === Infinity) return `> ${top} s`;
  return b.bound < 1 ? `≤ ${+(b.bound * 1000).toFixed(1)} ms` : `≤ ${b.bound} s`;
};
const late = (l: Lateness): string => (l.count > 0 ? `${bound(l)} (mean ${ms(l.meanSeconds * 1000)} ms)` : 'n/a');
const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pct = (v: number): string => `${fixed(v, 1)} %`;

function rows(base: Phase, phases: Phase[], pollSeconds: number): FleetRow[] {
  const all = [base, ...phases];
  const last = phases.at(-1) as Phase;
  const cells = (f: (p: Phase) => string): string[] => all.map(f);
  const aboveBase = (p: Phase): number => (p.rssMax - base.rssMax) / p.count;
  const cpuPerTarget = (p: Phase): number => (p.cpuPercent - base.cpuPercent) / p.count;
  const statusPerMinute = (p: Phase): number => p.lateness.status.count / p.count / (p.measureSeconds / 60);
  return [
    {
      measure: 'fleet: targets up at the end (mikopbx_up 1 on /probe)',
      cells: cells((p) => `${int(p.up)} / ${int(p.count)}`),
      goal: 'all',
      met: last.up === last.count,
    },
    { measure: 'fleet: RSS of the exporter, max', cells: cells((p) => mb(p.rssMax)), goal: '≤ 400 MB', met: last.rssMax <= 400 * 1048576 },
    {
      measure: 'fleet: RSS per target above the 1-target base',
      cells: cells((p) => (p === base ? '(base)' : `${fixed(aboveBase(p) / 1048576, 2)} MB`)),
      goal: '< 1 MB',
      met: aboveBase(last) < 1048576,
    },
    { measure: 'fleet: CPU of the exporter, mean (% of one core)', cells: cells((p) => pct(p.cpuPercent)), goal: '≤ 25 %', met: last.cpuPercent <= 25 },
    { measure: 'fleet: CPU per target above the base (% of one core)', cells: cells((p) => (p === base ? '(base)' : `${fixed(cpuPerTarget(p), 4)} %`)) },
    {
      measure: 'fleet: poll lateness p99 (bucket bound), status / cdr',
      cells: cells((p) => `${late(p.lateness.status)} / ${late(p.lateness.cdr)}`),
      goal: '≤ 1 s',
      met: Math.max(last.lateness.status.bound, last.lateness.cdr.bound) <= 1,
    },
    {
      measure: `fleet: /probe latency p50 / p99 (ms, gzip, every target every ${pollSeconds} s)`,
      cells: cells((p) => `${ms(p.probe.p50)} / ${ms(p.probe.p99)} (${int(p.probe.count)} scrapes${p.probe.errors ? `, ${p.probe.errors} errors` : ''})`),
      goal: 'p99 ≤ 5',
      met: last.probe.p99 <= 5 && last.probe.errors === 0,
    },
    {
      measure: 'fleet: /probe p99, sent in the first 300 ms of a second (the scheduler tick) / later (ms)',
      cells: cells((p) => `${ms(p.probe.p99OnTick)} / ${ms(p.probe.p99OffTick)}`),
    },
    {
      measure: 'fleet: /probe response size, gzip / plain (series)',
      cells: cells((p) => `${fixed(p.probe.meanBytes / 1024, 1)} / ${fixed(p.plainBytes / 1024, 0)} KiB (${int(p.series)})`),
    },
    { measure: 'fleet: event loop delay p99 / max, worst 5 s window (ms)', cells: cells((p) => `${ms(p.loopP99Max * 1000)} / ${ms(p.loopMax * 1000)}`) },
    { measure: 'fleet: heap used, lowest / highest 5 s sample; external (MB)', cells: cells((p) => `${mb(p.heapMin)} / ${mb(p.heapMax)}; ${mb(p.external)}`) },
    {
      measure: 'fleet: GC pauses, % of wall time minor / major; longest major',
      cells: cells(
        (p) => `${pct(p.gc.minorShare * 100)} / ${pct(p.gc.majorShare * 100)}; ${p.gc.longestMajor.count > 0 ? bound(p.gc.longestMajor, 5) : 'none'}`,
      ),
    },
    { measure: 'fleet: request slot wait p99', cells: cells((p) => bound(p.slotWait, 5)) },
    { measure: 'fleet: requests in flight / queued, max of 5 s samples', cells: cells((p) => `${int(p.inFlightMax)} / ${int(p.queuedMax)}`) },
    {
      measure: 'fleet: status polls per target per minute / polls overrun',
      cells: cells((p) => `${fixed(statusPerMinute(p), 2)} / ${int(p.overruns)}`),
      goal: `${(60 / pollSeconds).toFixed(2)} / 0`,
      met: last.overruns === 0,
    },
    { measure: 'machine: load average (1 min) at the end of the window', cells: cells((p) => p.load.toFixed(1)) },
    { measure: 'fleet: API requests per minute, all PBXs (failed)', cells: cells((p) => `${int(p.requestsPerMinute)} (${int(p.failedPerMinute)})`) },
  ];
}

function renderFleetTable(base: Phase, phases: Phase[], pollSeconds: number, judged: boolean): string {
  const header = [
    'fleet measure',
    `${int(base.count)} target (base)`,
    ...phases.map((p) => `${int(p.count)} targets`),
    'goal',
    judged ? 'verdict' : 'verdict (smoke: not judged)',
  ];
  const lines = [header, header.map(() => '---')];
  for (const r of rows(base, phases, pollSeconds)) {
    const verdict = r.met === undefined ? '' : r.met ? 'met' : '**missed**';
    lines.push([r.measure, ...r.cells, r.goal ?? '', verdict]);
  }
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** BENCH_FLEET_SIZES=200,2000: other fleet sizes than 100, 500, 1,000 (after the base as always). */
function withSizes(scale: FleetScale, list: string | undefined): FleetScale {
  const counts = (list ?? '').split(',').filter(Boolean).map(Number);
  if (counts.length === 0) return scale;
  if (!counts.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`BENCH_FLEET_SIZES: whole numbers, comma-separated, got ${list}`);
  const timing = (scale.sizes.at(-1) as FleetScale['sizes'][number]).timing;
  return { ...scale, sizes: counts.map((count) => ({ count, timing })) };
}

/** Runs every phase and returns the report (header lines and the Markdown table). */
export async function fleetBench(smoke: boolean): Promise<string> {
  const scale = withSizes(smoke ? SMOKE : FULL, process.env.BENCH_FLEET_SIZES);
  const started = performance.now();
  const loadBefore = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const nodeFlags = shippedNodeFlags();
  const run = async (count: number, timing: Timing): Promise<Phase> => {
    say(`${count} target${count === 1 ? '' : 's'}: warm-up ≥ ${timing.warmupSeconds} s, then ${timing.measureSeconds} s measured`);
    const p = await runPhase(scale, count, timing, nodeFlags);
    if (p.pendingAfterWarmup > 0) say(`${count} targets: ${p.pendingAfterWarmup} still pending after the warm-up`);
    if (p.log.warn + p.log.error > 0) say(`${count} targets: the exporter logged ${p.log.warn} warnings, ${p.log.error} errors; first: ${p.log.first}`);
    return p;
  };
  try {
    const base = await run(1, scale.base);
    const phases: Phase[] = [];
    for (const { count, timing } of scale.sizes) phases.push(await run(count, timing));
    const largest = phases.at(-1) as Phase;
    const cpus = os.cpus();
    return [
      `mikopbx-exporter fleet benchmark${smoke ? ' (SMOKE scale)' : ''}: PBXs of ${PBX.extensions} extensions, ${PBX.providers} trunks, ${PBX.activeCalls} calls in progress, every ${scale.legacyEvery}th legacy; status every ${scale.pollSeconds} s, CDR every ${scale.cdrSeconds} s; real time, measured ${[base, ...phases].map((p) => p.measureSeconds.toFixed(0)).join(' / ')} s after ${[base, ...phases].map((p) => p.warmupSeconds.toFixed(0)).join(' / ')} s of warm-up  `,
      `simulated fleet in its own process (not counted): ${int(largest.count)} PBXs started in ${largest.simStartSeconds.toFixed(1)} s, ${mb(largest.simRss)} RSS; node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, load average before ${loadBefore}, after ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ${new Date().toISOString().slice(0, 10)}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
      '',
      renderFleetTable(base, phases, scale.pollSeconds, !smoke),
      '',
    ].join('\n');
  } finally {
    metricsAgent.destroy();
  }
}
