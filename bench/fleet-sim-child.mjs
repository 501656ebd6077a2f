// @ts-check
/* global process, URL, performance, setImmediate */
// The simulated fleet of bench/fleet.ts, in a process of its own: its CPU (1,000 living PBXs
// answering the polls) must not count against the exporter, nor share the bench's event loop with
// the /probe scraper. Options come as JSON in BENCH_FLEET_SIM; the child writes the targets file
// into BENCH_FLEET_DIR and reports `{ready}` over IPC, then waits for `stop`.
//
// Plain JavaScript like exporter-child.mjs: no TypeScript stripper in a process started 4 times.
import { pathToFileURL } from 'node:url';

const ROOT = new URL('..', import.meta.url);
const { startSimFleet, writeFleetTargetsFile } = await import(pathToFileURL(new URL('dist-sim/sim/index.js', ROOT).pathname).href);

const options = JSON.parse(process.env.BENCH_FLEET_SIM ?? '{}');
const t0 = performance.now();
const fleet = await startSimFleet(options);
const startSeconds = (performance.now() - t0) / 1000;
const file = await writeFleetTargetsFile(fleet, process.env.BENCH_FLEET_DIR ?? '.');

process.on('message', (/** @type {{ cmd: string }} */ msg) => {
  if (msg.cmd === 'stop') void fleet.close().then(() => setImmediate(() => process.exit(0)));
});
process.send?.({
  ready: true,
  path: file.path,
  names: fleet.members.map((/** @type {{ name: string }} */ m) => m.name),
  legacy: fleet.members.filter((/** @type {{ mode: string }} */ m) => m.mode === 'legacy').length,
  startSeconds,
  rss: process.memoryUsage().rss,
});
