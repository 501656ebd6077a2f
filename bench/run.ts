// `npm run bench`: the exporter against a simulated 5,000-extension MikoPBX, one table of figures,
// then fleet mode against 100, 500 and 1,000 simulated PBXs in real time (bench/fleet.ts, ~10 min),
// a second table. BENCH_SMOKE=1 runs every phase at a tiny scale in a few seconds (the test suite
// does, so this script cannot rot); BENCH_FLEET=0 skips the fleet part, BENCH_FLEET_ONLY=1 runs
// only it. Method and latest figures: docs/performance.md.
import os from 'node:os';
import { ExporterProcess } from './exporter-process.ts';
import { fleetBench } from './fleet.ts';
import { loadTest, type LoadResult } from './load.ts';
import { findNginx, startNginx } from './nginx.ts';
import { BenchPbx, type PbxScale } from './pbx.ts';
import type { StepResult } from './protocol.ts';
import { closeScrapeAgent, scrape } from './scrape.ts';
import { seriesCount } from './series.ts';
import { int, kb, mb, ms, renderTable, type Row } from './table.ts';
import { median, quantile, shippedNodeFlags } from './util.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const FLEET_ONLY = process.env.BENCH_FLEET_ONLY === '1';
const FLEET = FLEET_ONLY || process.env.BENCH_FLEET !== '0';

const SCALE: PbxScale & { warmupMinutes: number; runMinutes: number; loadSeconds: number; connections: number; cdrRounds: number; smallPbx: number } = SMOKE
  ? {
      extensions: 50,
      providers: 4,
      activeCalls: 10,
      callsPerSecond: 2,
      warmupMinutes: 1,
      runMinutes: 2,
      loadSeconds: 0.25,
      connections: 4,
      cdrRounds: 1,
      smallPbx: 20,
    }
  : {
      extensions: 5000,
      providers: 200,
      activeCalls: 500,
      callsPerSecond: 50,
      warmupMinutes: 10,
      runMinutes: 60,
      loadSeconds: 4,
      connections: 8,
      cdrRounds: 5,
      smallPbx: 500,
    };

const STATUS_PATHS = ['/pbxcore/api/v3/sip-providers:getStatuses', '/pbxcore/api/v3/pbx-status:getActiveChannels', '/pbxcore/api/v3/sip:getStatuses'];

/** Where in each 15 s the two Prometheus replicas scrape (the polls run at second 0). */
const REPLICA_PHASES = [4, 11];

const say = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

interface Schedule {
  statusPollCpuMs: number[];
  scrapeMs: number[];
  rssBytes: number[];
  /** Heap in use after a full GC at the end (taken after the last RSS sample). */
  heapAfterGc: number;
  /** API requests sent to the PBX, and over how many minutes. */
  requests: number;
  requestsPerMinuteMax: number;
  minutes: number;
}

/**
 * Runs the exporter's own schedule (default intervals) for `minutes` of PBX time, one second at a
 * time, with two Prometheus replicas scraping every 15 s (at seconds 4 and 11 of each 15). Records the CPU time of every tick
 * that ran a status poll alone, the RSS every minute, and the requests the PBX received.
 */
async function runSchedule(pbx: BenchPbx, exporter: ExporterProcess, metricsUrl: string, minutes: number): Promise<Schedule> {
  const out: Schedule = { statusPollCpuMs: [], scrapeMs: [], rssBytes: [], heapAfterGc: NaN, requests: 0, requestsPerMinuteMax: 0, minutes };
  const perMinute: number[] = [];
  let minuteRequests = 0;
  for (let s = 1; s <= minutes * 60; s++) {
    pbx.second();
    const before = pbx.sim.requests.length;
    const step: StepResult = await exporter.step('tick', pbx.clock);
    pbx.advanceTo(step.clock);
    const sent = pbx.sim.requests.slice(before);
    minuteRequests += sent.length;
    if (sent.length > 0 && sent.every((r) => STATUS_PATHS.includes(r.path))) out.statusPollCpuMs.push(step.cpuMs);
    // Prometheus scrapes on its own phase, not in step with the exporter's polls.
    for (const phase of REPLICA_PHASES) if (s % 15 === phase) out.scrapeMs.push((await scrape(metricsUrl, true)).ms);
    if (s % 60 === 0) {
      perMinute.push(minuteRequests);
      minuteRequests = 0;
      out.rssBytes.push(await exporter.rss());
    }
  }
  out.heapAfterGc = await exporter.send<number>({ cmd: 'heap-after-gc' });
  out.requests = perMinute.reduce((a, b) => a + b, 0);
  out.requestsPerMinuteMax = Math.max(...perMinute);
  return out;
}

/** CPU time per CDR leg: `rounds` minutes of calls, each read by one CDR poll. */
async function cdrIngest(pbx: BenchPbx, exporter: ExporterProcess, rounds: number): Promise<{ usPerLeg: number; legsPerMinute: number }> {
  let cpu = 0;
  let legs = 0;
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < 60; s++) pbx.second();
    const step = await exporter.step('cdr-poll', pbx.clock);
    pbx.advanceTo(step.clock);
    cpu += step.cpuMs;
    legs += step.legs;
  }
  return { usPerLeg: legs > 0 ? (cpu * 1000) / legs : NaN, legsPerMinute: legs / rounds };
}

interface ServerFigures {
  /** One connection, scrapes back to back: the latency of a scrape itself. */
  latencyGzip: LoadResult;
  latencyPlain: LoadResult;
  /** Several connections: how many scrapes a second the server can answer. */
  gzip: LoadResult;
  plain: LoadResult;
}

async function loadAll(url: string, midway?: () => Promise<unknown>): Promise<ServerFigures> {
  const opts = { url, seconds: SCALE.loadSeconds, ...(midway ? { midway } : {}) };
  return {
    latencyGzip: await loadTest({ ...opts, connections: 1, gzip: true }),
    latencyPlain: await loadTest({ ...opts, connections: 1, gzip: false }),
    gzip: await loadTest({ ...opts, connections: SCALE.connections, gzip: true }),
    plain: await loadTest({ ...opts, connections: SCALE.connections, gzip: false }),
  };
}

/** Rounds of the gzip throughput comparison: one load test of each server per round, in turn. */
const DUEL_ROUNDS = SMOKE ? 1 : 3;

/**
 * Gzip throughput of the exporter against nginx, in alternating rounds (exporter, nginx, exporter,
 * …), each server's figure the median of its rounds: two servers near the loopback client's own
 * limit differ by less than the machine's drift over a minute, which single back-to-back runs
 * measured as ratios from 0.66× to 0.88× for the same code.
 */
async function gzipDuel(ours: string, theirs: string, midway: () => Promise<unknown>): Promise<{ ours: LoadResult[]; theirs: LoadResult[] }> {
  const opts = { seconds: SCALE.loadSeconds, connections: SCALE.connections, gzip: true };
  const rounds = { ours: [] as LoadResult[], theirs: [] as LoadResult[] };
  for (let r = 0; r < DUEL_ROUNDS; r++) {
    rounds.ours.push(await loadTest({ ...opts, url: ours, midway }));
    rounds.theirs.push(await loadTest({ ...opts, url: theirs }));
  }
  return rounds;
}

/** The round with the median rate (so its errors are reported with it). */
function medianRound(rounds: readonly LoadResult[]): LoadResult {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)] as LoadResult;
}

const latency = (r: LoadResult | undefined): string => (r ? `${ms(r.p50)} / ${ms(r.p99)}` : 'n/a (install nginx)');
const rps = (r: LoadResult | undefined): string => (r ? `${int(r.rps)}${r.errors ? ` (${r.errors} errors)` : ''}` : 'n/a (install nginx)');

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  say(
    `${SMOKE ? 'SMOKE run' : 'full run'}: ${SCALE.extensions} extensions, ${SCALE.providers} trunks, ${SCALE.activeCalls} calls in progress, ${SCALE.callsPerSecond} calls/s`,
  );
  const pbx = await BenchPbx.start(SCALE, Math.floor(Date.now() / 1000) * 1000);
  for (let s = 0; s < 60; s++) pbx.second(); // the call stream reaches its steady state
  const exporter = new ExporterProcess(
    { PATH: process.env.PATH, MIKOPBX_URL: pbx.url, MIKOPBX_API_KEY: pbx.apiKey, BENCH_START_MS: String(pbx.clock) },
    // The flags the Docker image and `npm start` run the exporter with, and gc() for the leak check.
    [...shippedNodeFlags(), '--expose-gc'],
  );
  const metricsUrl = `http://127.0.0.1:${await exporter.port}/metrics`;
  let nginx: Awaited<ReturnType<typeof startNginx>> | null = null;
  try {
    say(`warm-up: ${SCALE.warmupMinutes} min of PBX time`);
    const warm = await runSchedule(pbx, exporter, metricsUrl, SCALE.warmupMinutes);
    say(`accelerated run: ${SCALE.runMinutes} min of PBX time`);
    const t0 = performance.now();
    const run = await runSchedule(pbx, exporter, metricsUrl, SCALE.runMinutes);
    const runRealSeconds = (performance.now() - t0) / 1000;
    const callsInProgress = pbx.callsInProgress();

    say('CDR ingest');
    const cdr = await cdrIngest(pbx, exporter, SCALE.cdrRounds);
    say('JSON.parse of the status bodies');
    const parse = await exporter.send<{ cpuMs: number; bytes: number }>({ cmd: 'json-parse', paths: STATUS_PATHS });

    const gz = await scrape(metricsUrl, true);
    const plain = await scrape(metricsUrl, false);
    const series = plain.body
      .toString()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#')).length;

    // A status poll runs halfway through each load test of the exporter process, as one would.
    const pollMidway = (): Promise<StepResult> => exporter.step('status-poll', pbx.clock + 30_000).then((r) => (pbx.advanceTo(r.clock), r));
    say('load: exporter');
    const ours = await loadAll(metricsUrl, pollMidway);
    say('load: prom-client registry.metrics() per scrape');
    const naivePort = (await exporter.send<{ port: number }>({ cmd: 'naive-start' })).port;
    const naive = await loadAll(`http://127.0.0.1:${naivePort}/metrics`, pollMidway);
    const nginxBinary = findNginx();
    let limit: ServerFigures | undefined;
    let duelNote = '';
    if (nginxBinary) {
      say('load: nginx');
      nginx = await startNginx(nginxBinary, plain.body, gz.body);
      limit = await loadAll(nginx.url);
      say(`load: gzip throughput, exporter and nginx in turn (${DUEL_ROUNDS} rounds)`);
      const duel = await gzipDuel(metricsUrl, nginx.url, pollMidway);
      ours.gzip = medianRound(duel.ours);
      limit.gzip = medianRound(duel.theirs);
      duelNote = ` (median of ${DUEL_ROUNDS} alternating rounds: exporter ${duel.ours.map((r) => int(r.rps)).join(', ')}; nginx ${duel.theirs.map((r) => int(r.rps)).join(', ')})`;
    } else {
      say('nginx not installed (apt-get install -y nginx-light): its column is n/a');
    }

    say('series count against PBX size');
    const sizes = [SCALE.smallPbx, SCALE.extensions];
    const withoutDetails = [await seriesCount(sizes[0] as number, SCALE.providers, false), await seriesCount(sizes[1] as number, SCALE.providers, false)];
    const withDetails = [await seriesCount(sizes[0] as number, SCALE.providers, true), await seriesCount(sizes[1] as number, SCALE.providers, true)];

    const pollCpu = median(run.statusPollCpuMs);
    const rssWarm = median(warm.rssBytes.slice(-3));
    const rssEnd = median(run.rssBytes.slice(-3));
    const growth = (rssEnd / rssWarm - 1) * 100;
    const heapGrowth = (run.heapAfterGc / warm.heapAfterGc - 1) * 100;
    const perMinute = run.requests / run.minutes;
    const rows: Row[] = [
      {
        measure: '/metrics latency p50 / p99, gzip (ms, 1 connection)',
        exporter: latency(ours.latencyGzip),
        promClient: latency(naive.latencyGzip),
        nginx: latency(limit?.latencyGzip),
        target: 'p99 ≤ 4',
        met: ours.latencyGzip.p99 <= 4,
      },
      {
        measure: '/metrics latency p50 / p99, plain (ms, 1 connection)',
        exporter: latency(ours.latencyPlain),
        promClient: latency(naive.latencyPlain),
        nginx: latency(limit?.latencyPlain),
      },
      {
        measure: `/metrics throughput, gzip (req/s, ${SCALE.connections} connections)${duelNote}`,
        exporter: limit ? `${rps(ours.gzip)} (${(ours.gzip.rps / limit.gzip.rps).toFixed(2)}× nginx)` : rps(ours.gzip),
        promClient: rps(naive.gzip),
        nginx: rps(limit?.gzip),
        target: '≥ 1.0× nginx',
        ...(limit ? { met: ours.gzip.rps >= limit.gzip.rps } : {}),
      },
      {
        measure: '/metrics throughput, plain (req/s)',
        exporter: rps(ours.plain),
        promClient: rps(naive.plain),
        nginx: rps(limit?.plain),
        target: '≥ ½ nginx',
        ...(limit ? { met: ours.plain.rps >= limit.plain.rps / 2 } : {}),
      },
      {
        measure: 'scrape latency during the run, gzip, p50 / p99 (ms)',
        exporter: `${ms(median(run.scrapeMs))} / ${ms(quantile(run.scrapeMs, 0.99))}`,
        target: 'p99 ≤ 5',
        met: quantile(run.scrapeMs, 0.99) <= 5,
      },
      {
        measure: 'response size plain / gzip',
        exporter: `${kb(plain.body.length)} / ${kb(gz.body.length)} (${int(series)} series)`,
        target: 'gzip honoured',
        met: gz.headers['content-encoding'] === 'gzip' && gz.body.length < plain.body.length,
      },
      {
        measure: 'CPU of one status poll cycle (median) vs JSON.parse of its bodies (ms)',
        exporter: `${ms(pollCpu)} vs ${ms(parse.cpuMs)} (${kb(parse.bytes)}): ${(pollCpu / parse.cpuMs).toFixed(1)}×`,
        target: '≤ 3×',
        met: pollCpu <= 3 * parse.cpuMs,
      },
      {
        measure: 'CDR ingest CPU per leg (µs)',
        exporter: `${ms(cdr.usPerLeg)} (${int(cdr.legsPerMinute)} legs/min)`,
        target: '≤ 20',
        met: cdr.usPerLeg <= 20,
      },
      { measure: 'RSS after warm-up', exporter: mb(rssWarm), target: '≤ 150 MB', met: rssWarm <= 150 * 1048576 },
      {
        measure: `RSS after a ${SCALE.runMinutes}-minute accelerated run (${runRealSeconds.toFixed(0)} s real)`,
        exporter: `${mb(rssEnd)} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %)`,
        target: '≤ +5 %',
        met: growth <= 5,
      },
      {
        measure: 'heap in use after a full GC, end of warm-up → end of run',
        exporter: `${mb(warm.heapAfterGc)} → ${mb(run.heapAfterGc)} (${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)} %)`,
      },
      {
        measure: 'requests to the PBX per minute, default settings (mean / max)',
        exporter: `${perMinute.toFixed(1)} / ${run.requestsPerMinuteMax}`,
        target: '≤ 10',
        met: run.requestsPerMinuteMax <= 10,
      },
      {
        measure: `series, PEER_DETAILS=false: ${int(sizes[0] as number)} vs ${int(sizes[1] as number)} extensions`,
        exporter: `${int(withoutDetails[0] as number)} vs ${int(withoutDetails[1] as number)}`,
        target: 'equal',
        met: withoutDetails[0] === withoutDetails[1],
      },
      {
        measure: `series, PEER_DETAILS=true: ${int(sizes[0] as number)} vs ${int(sizes[1] as number)} extensions`,
        exporter: `${int(withDetails[0] as number)} vs ${int(withDetails[1] as number)}`,
      },
    ];
    const cpus = os.cpus();
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    process.stdout.write(
      [
        `mikopbx-exporter benchmark${SMOKE ? ' (SMOKE scale)' : ''}: ${SCALE.extensions} extensions, ${SCALE.providers} trunks, ${callsInProgress} calls in progress, ${SCALE.callsPerSecond} calls/s into CDR`,
        `node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, load average before ${loadBefore}, after ${load}; ${new Date().toISOString().slice(0, 10)}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
        '',
        renderTable(rows, !SMOKE),
        '',
      ].join('\n'),
    );
    const problems = exporter.log.split('\n').filter((l) => l.includes('"level":"error"'));
    if (problems.length > 0) say(`the exporter logged ${problems.length} errors, first: ${problems[0]}`);
  } finally {
    closeScrapeAgent();
    await nginx?.stop();
    await exporter.stop();
    await pbx.close();
  }
}

if (!FLEET_ONLY) await main();
if (FLEET) process.stdout.write(`\n${await fleetBench(SMOKE)}`);
