// @ts-check
/* global process, URL, performance, fetch, Buffer, setImmediate */
// The exporter under test, in a process of its own (its CPU time and RSS are its own): the built
// exporter (dist/) started as main.js starts it, but on a clock the benchmark moves and with the
// poll schedule driven by that clock. Commands (bench/protocol.ts) come over IPC from bench/run.ts.
//
// Plain JavaScript on purpose: a .ts child would load Node's TypeScript stripper (≈20 MB of RSS)
// into the process whose memory is measured, which the shipped exporter (dist/main.js) never does.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = new URL('..', import.meta.url);
/** @param {string} path a module of the built exporter: the benchmark measures what ships */
const distModule = (path) => import(pathToFileURL(new URL(`dist/${path}`, ROOT).pathname).href);
/** @param {NodeJS.CpuUsage} usage */
const cpuMs = (usage) => (usage.user + usage.system) / 1000;

const { loadConfig } = await distModule('config.js');
const { startExporter } = await distModule('exporter.js');
const { createLogger } = await distModule('log.js');
const { createProcessRegistry } = await distModule('metrics/process.js');
const { configSecrets } = await distModule('config.js');

let clock = Number(process.env.BENCH_START_MS);
const now = () => clock;
// Budget waits move the clock, as they would take that long.
/** @param {number} ms */
const sleep = async (ms) => {
  clock += ms;
};

const config = loadConfig({ ...process.env, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const logger = createLogger({ level: config.logLevel, secrets: configSecrets(config), write: (/** @type {string} */ line) => process.stderr.write(line) });
const exporter = await startExporter(config, logger, { now, sleep, manualSchedule: true });
const { target } = exporter;

/** mikopbx_cdr_records_total: CDR legs counted so far. */
async function recordsCounted() {
  const metric = await target.registry.getSingleMetric('mikopbx_cdr_records_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

/** @param {() => Promise<unknown>} run */
async function measured(run) {
  const legsBefore = await recordsCounted();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const result = { cpuMs: cpuMs(process.cpuUsage(cpu)), wallMs: performance.now() - t0 };
  return { ...result, legs: (await recordsCounted()) - legsBefore, clock };
}

/**
 * CPU time of JSON.parse alone on the bodies a status poll receives (median of several rounds).
 * @param {string} url @param {string} key @param {string[]} paths
 */
async function jsonParseCost(url, key, paths) {
  const bodies = await Promise.all(paths.map(async (p) => (await fetch(url + p, { headers: { authorization: `Bearer ${key}` } })).text()));
  /** @type {number[]} */
  const rounds = [];
  for (let i = 0; i < 25; i++) {
    const cpu = process.cpuUsage();
    for (const b of bodies) JSON.parse(b);
    if (i >= 5) rounds.push(cpuMs(process.cpuUsage(cpu))); // the first rounds warm the parser up
  }
  rounds.sort((a, b) => a - b);
  return { cpuMs: rounds[Math.floor(rounds.length / 2)], bytes: bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) };
}

/**
 * The common prom-client pattern, for comparison: every scrape renders the registries
 * (`registry.metrics()`) and, when asked, gzips the text. Same process, same registry contents
 * as the exporter under test.
 * @param {import('prom-client').Registry[]} registries
 */
async function startNaiveServer(registries) {
  const server = http.createServer((req, res) => {
    void (async () => {
      let text = '';
      for (const r of registries) text += await r.metrics();
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? gzipSync(text) : text;
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(body);
    })();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

/** @type {{ port: number; close(): Promise<unknown> } | null} */
let naive = null;

/** @param {import('./protocol.ts').ChildCommand} cmd */
async function handle(cmd) {
  if ('clock' in cmd && cmd.clock !== undefined) clock = Math.max(clock, cmd.clock);
  switch (cmd.cmd) {
    case 'tick':
      return measured(() => exporter.tick());
    case 'status-poll':
      return measured(() => target.runStatusPoll());
    case 'cdr-poll':
      return measured(() => target.runCdrPoll());
    case 'json-parse':
      return jsonParseCost(config.url, config.apiKey ?? '', cmd.paths);
    case 'memory':
      return process.memoryUsage();
    case 'heap-after-gc': {
      const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc;
      if (!gc) return NaN;
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    }
    case 'naive-start':
      naive ??= await startNaiveServer([target.registry, createProcessRegistry()]);
      return { port: naive.port };
    case 'stop':
      await naive?.close();
      await exporter.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (/** @type {{ id: number; command: import('./protocol.ts').ChildCommand }} */ msg) => {
  handle(msg.command).then(
    (result) => process.send?.({ id: msg.id, ok: true, result }),
    (e) => process.send?.({ id: msg.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
process.send?.({ id: 0, ok: true, result: { port: exporter.port } });
