// The exporter under test, in a process of its own (its CPU time and RSS are its own): the built
// exporter (dist/) started as main.js starts it, but on a clock the benchmark moves and with the
// poll schedule driven by that clock. Commands come over IPC from bench/run.ts.
import type * as ConfigModule from '../src/config.js';
import type * as ExporterModule from '../src/exporter.js';
import type * as LogModule from '../src/log.js';
import type * as ProcessModule from '../src/metrics/process.js';
import type { ChildCommand, ChildReply, StepResult } from './protocol.ts';
import { startNaiveServer } from './naive-server.ts';
import { cpuMs, distModule } from './util.ts';

const { loadConfig, configSecrets } = await distModule<typeof ConfigModule>('config.js');
const { startExporter } = await distModule<typeof ExporterModule>('exporter.js');
const { createLogger } = await distModule<typeof LogModule>('log.js');
const { createProcessRegistry } = await distModule<typeof ProcessModule>('metrics/process.js');

let clock = Number(process.env.BENCH_START_MS);
const now = (): number => clock;
// Budget waits move the clock, as they would take that long.
const sleep = async (ms: number): Promise<void> => {
  clock += ms;
};

const config = loadConfig({ ...process.env, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const logger = createLogger({ level: config.logLevel, secrets: configSecrets(config), write: (line) => process.stderr.write(line) });
const exporter = await startExporter(config, logger, { now, sleep, manualSchedule: true });
const { target } = exporter;

/** mikopbx_cdr_records_total: CDR legs counted so far. */
async function recordsCounted(): Promise<number> {
  const metric = await target.registry.getSingleMetric('mikopbx_cdr_records_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

async function measured(run: () => Promise<void>): Promise<StepResult> {
  const legsBefore = await recordsCounted();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const result = { cpuMs: cpuMs(process.cpuUsage(cpu)), wallMs: performance.now() - t0 };
  return { ...result, legs: (await recordsCounted()) - legsBefore, clock };
}

/** CPU time of JSON.parse alone on the bodies a status poll receives (median of several rounds). */
async function jsonParseCost(url: string, key: string, paths: string[]): Promise<{ cpuMs: number; bytes: number }> {
  const bodies = await Promise.all(paths.map(async (p) => (await fetch(url + p, { headers: { authorization: `Bearer ${key}` } })).text()));
  const rounds: number[] = [];
  for (let i = 0; i < 25; i++) {
    const cpu = process.cpuUsage();
    for (const b of bodies) JSON.parse(b);
    if (i >= 5) rounds.push(cpuMs(process.cpuUsage(cpu))); // the first rounds warm the parser up
  }
  rounds.sort((a, b) => a - b);
  return { cpuMs: rounds[Math.floor(rounds.length / 2)] as number, bytes: bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) };
}

let naive: { port: number; close(): Promise<void> } | null = null;

async function handle(cmd: ChildCommand): Promise<unknown> {
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
      const gc = (globalThis as { gc?: () => void }).gc;
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

process.on('message', (msg: { id: number; command: ChildCommand }) => {
  handle(msg.command).then(
    (result) => process.send?.({ id: msg.id, ok: true, result } satisfies ChildReply),
    (e: unknown) => process.send?.({ id: msg.id, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) } satisfies ChildReply),
  );
});
process.send?.({ id: 0, ok: true, result: { port: exporter.port } } satisfies ChildReply);
