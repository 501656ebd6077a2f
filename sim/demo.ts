#!/usr/bin/env node
// `npm run demo`: the exporter against the built-in simulated MikoPBX, with no configuration.
// `npm run demo -- --legacy` simulates a MikoPBX 2024.x (cookie login, old endpoints) instead.
// `npm run demo -- --fleet N` runs the exporter in fleet mode against N simulated PBXs (every 4th
// legacy; with 3 or more, the last but one down and the last hanging), from a generated targets file.
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, loadFleetSettings } from '../src/config.js';
import { startExporter } from '../src/exporter.js';
import { startFleetExporter } from '../src/fleet/fleet-exporter.js';
import { createLogger } from '../src/log.js';
import { ScrubberRegistry } from '../src/secrets.js';
import { DEFAULT_AMI_USER, startSimFleet, startSimulator, writeFleetTargetsFile } from './index.js';

export interface DemoOptions {
  /** MikoPBX 2024.x (every member, with `fleet`) */
  legacy?: boolean;
  /** fleet mode with this many simulated PBXs */
  fleet?: number;
  /** the exporter's settings (default process.env); the PBX address and credentials are the demo's */
  env?: NodeJS.ProcessEnv;
  seed?: number;
}

export interface Demo {
  /** where the exporter listens */
  port: number;
  urls: { landing: string; metrics: string; targets?: string; probe?: string };
  stop(): Promise<void>;
}

/** The PBX address and credentials come from the demo: any in the environment would clash. */
const PBX_VARIABLES = [
  'MIKOPBX_URL',
  'MIKOPBX_API_KEY',
  'MIKOPBX_API_KEY_FILE',
  'MIKOPBX_LOGIN',
  'MIKOPBX_PASSWORD',
  'MIKOPBX_PASSWORD_FILE',
  'MIKOPBX_AMI_USER',
  'MIKOPBX_AMI_PASSWORD',
  'MIKOPBX_AMI_PASSWORD_FILE',
  'MIKOPBX_AMI_HOST',
  'MIKOPBX_AMI_PORT',
];

/** `defaults`: poll intervals, unless the environment sets them. */
function demoEnv(defaults: NodeJS.ProcessEnv, base: NodeJS.ProcessEnv, own: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...defaults, ...base };
  for (const name of PBX_VARIABLES) delete env[name];
  return { ...env, ...own };
}

const hostOf = (listenAddress: string): string => (listenAddress === '0.0.0.0' || listenAddress === '::' ? 'localhost' : listenAddress);

async function startSingle(opts: DemoOptions): Promise<Demo> {
  // It speaks AMI too, so the dashboard's Queues row is alive: callers join, wait, are answered or give up.
  const sim = await startSimulator({ mode: opts.legacy ? 'legacy' : 'v3', living: { tickMs: 1000 }, seed: opts.seed ?? 1, ami: {} });
  const own: NodeJS.ProcessEnv = {
    MIKOPBX_URL: sim.url,
    MIKOPBX_AMI_USER: DEFAULT_AMI_USER.username,
    MIKOPBX_AMI_PASSWORD: DEFAULT_AMI_USER.secret,
    MIKOPBX_AMI_HOST: '127.0.0.1',
    MIKOPBX_AMI_PORT: String(sim.ami?.port ?? 5038),
    ...(opts.legacy ? { MIKOPBX_LOGIN: sim.login, MIKOPBX_PASSWORD: sim.password } : { MIKOPBX_API_KEY: sim.apiKey }),
  };
  try {
    const config = loadConfig(demoEnv({ POLL_INTERVAL_SECONDS: '5', CDR_POLL_INTERVAL_SECONDS: '10' }, opts.env ?? process.env, own));
    const logger = createLogger({ level: config.logLevel, scrubbers: new ScrubberRegistry() });
    const exporter = await startExporter(config, logger);
    const base = `http://${hostOf(config.listenAddress)}:${exporter.port}`;
    logger.info(
      { simulator: sim.url, mode: sim.mode, metrics: `${base}/metrics` },
      `demo: simulated MikoPBX (${sim.mode}) at ${sim.url}; metrics at ${base}/metrics`,
    );
    return { port: exporter.port, urls: { landing: `${base}/`, metrics: `${base}/metrics` }, stop: () => exporter.stop().then(() => sim.close()) };
  } catch (e) {
    await sim.close();
    throw e;
  }
}

async function startFleet(count: number, opts: DemoOptions): Promise<Demo> {
  // the last two members show what a broken PBX looks like, once there are healthy ones too
  const broken = count >= 3 ? { down: [count - 2], hanging: [count - 1] } : {};
  const fleet = await startSimFleet({ count, seedBase: opts.seed ?? 1, legacyEvery: opts.legacy ? 1 : 4, living: { tickMs: 1000 }, ...broken });
  const dir = await mkdtemp(join(tmpdir(), 'mikopbx-demo-'));
  const cleanUp = () => fleet.close().then(() => rm(dir, { recursive: true, force: true }));
  try {
    const { path } = await writeFleetTargetsFile(fleet, dir);
    // slower than the single demo: N PBXs each within the default request budget, before and after
    // their API generation is known (5 s would make every target log that it stretched to 6 s)
    const env = demoEnv({ POLL_INTERVAL_SECONDS: '10', CDR_POLL_INTERVAL_SECONDS: '20' }, opts.env ?? process.env, { TARGETS_FILE: path });
    const settings = loadFleetSettings(env);
    if (!settings) throw new Error('fleet settings expected');
    const logger = createLogger({ level: settings.defaults.logLevel, scrubbers: new ScrubberRegistry() });
    const exporter = await startFleetExporter(settings, logger, { env });
    const base = `http://${hostOf(settings.defaults.listenAddress)}:${exporter.port}`;
    const first = fleet.members[0]?.name ?? '';
    const urls = { landing: `${base}/`, targets: `${base}/targets`, probe: `${base}/probe?target=${first}`, metrics: `${base}/metrics` };
    announceFleet(logger, fleet.members, urls);
    return { port: exporter.port, urls, stop: () => exporter.stop().then(cleanUp) };
  } catch (e) {
    await cleanUp();
    throw e;
  }
}

function announceFleet(logger: Logger, members: readonly { name: string; mode: string; state: string }[], urls: Demo['urls']): void {
  const legacy = members.filter((m) => m.mode === 'legacy').map((m) => m.name);
  const broken = members.filter((m) => m.state !== 'up').map((m) => `${m.name} ${m.state}`);
  const what = [`${legacy.length} legacy`, ...broken].join(', ');
  logger.info(
    { pbxs: members.length, legacy, broken, ...urls },
    `demo: ${members.length} simulated MikoPBXs (${what}); targets page ${urls.landing}, http_sd ${urls.targets}, one PBX ${urls.probe}, exporter health ${urls.metrics}`,
  );
}

/** Starts the simulated PBX (or fleet) and the exporter; the exporter listens as its settings say. */
export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  if (opts.fleet === undefined) return startSingle(opts);
  if (!(Number.isInteger(opts.fleet) && opts.fleet >= 1 && opts.fleet <= 1000))
    throw new ConfigError('--fleet', `must be a whole number from 1 to 1000, got ${opts.fleet}`);
  return startFleet(opts.fleet, opts);
}

async function cli(): Promise<void> {
  const { values } = parseArgs({ options: { legacy: { type: 'boolean' }, fleet: { type: 'string' } }, strict: false });
  let demo: Demo;
  try {
    demo = await startDemo({
      legacy: values.legacy === true,
      ...(typeof values.fleet === 'string' ? { fleet: Number(values.fleet) } : {}),
      seed: Number(process.env.DEMO_SEED ?? 1),
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mikopbx-exporter demo: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const stop = () => {
    setTimeout(() => process.exit(0), 5000).unref();
    void demo.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Run as a program (`node dist-sim/sim/demo.js`), not when a test imports startDemo().
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) void cli();
