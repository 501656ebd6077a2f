import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError, type FleetSettings } from '../config.js';
import { createFleetHandler } from '../http/fleet-routes.js';
import { ProbeFront } from '../http/probe-front.js';
import { closeServer, listen } from '../http/server.js';
import { createWebServer } from '../http/web-server.js';
import { scrubbersOf } from '../log.js';
import { createProcessRegistry } from '../metrics/process.js';
import { Scheduler } from '../scheduler.js';
import type { TargetOptions } from '../target.js';
import { Fleet, type FleetChanges } from './fleet.js';
import { FleetMetrics } from './fleet-metrics.js';
import { RequestGate } from './request-gate.js';
import { parseShard, type Shard } from './shard.js';
import { loadTargetsFile } from './targets-file.js';

export interface FleetExporter {
  fleet: Fleet;
  /** The routes' server: on 127.0.0.1 behind the scrape front, when there is one. */
  server: http.Server | https.Server;
  /** The port scrapers use. */
  port: number;
  /** Serves /probe from a worker thread (fleet mode without WEB_CONFIG_FILE), or null. */
  front: ProbeFront | null;
  shard: Shard;
  processRegistry: Registry;
  metrics: FleetMetrics;
  /** Reads the targets file again (SIGHUP); a bad file keeps the running set. Resolves with what changed, or null. */
  reload(reason: string): FleetChanges | null;
  stop(): Promise<void>;
}

export interface FleetStartOptions {
  env?: NodeJS.ProcessEnv;
  /** How often the targets file is checked for a change of content (default 10 s). */
  reloadCheckMs?: number;
  closeGraceMs?: number;
  target?: Pick<TargetOptions, 'now' | 'sleep' | 'maxBodyBytes'>;
}

function digest(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/**
 * Fleet mode: the PBXs of TARGETS_FILE that this replica's shard owns, one shared scheduler and
 * limit of requests in flight, and the fleet routes. A bad file at start is a ConfigError (exit
 * code 2); at reload it is logged and counted, and the running set stays.
 */
export async function startFleetExporter(settings: FleetSettings, logger: Logger, opts: FleetStartOptions = {}): Promise<FleetExporter> {
  const env = opts.env ?? process.env;
  const shard = parseShard(settings.shard);
  const file = settings.targetsFile;
  const specs = loadTargetsFile(file, settings.defaults, env);
  const processRegistry = createProcessRegistry();
  // The fleet exists before its metrics, which read it at scrape time; the hooks fill in later.
  let metrics: FleetMetrics | null = null;
  const gate = new RequestGate(settings.maxRequestsInFlight, (ms) => metrics?.slotWait.observe(ms / 1000));
  const scheduler = new Scheduler([], (job, e) => logger.error({ job, err: e }, 'poll crashed'), Date.now, {
    onStart: (job, latenessMs) => metrics?.pollLateness.observe({ schedule: job.name }, latenessMs / 1000),
    onOverrun: (job) => metrics?.pollsOverrun.inc({ schedule: job.name }),
    precise: true,
  });
  let forget: (t: Parameters<ReturnType<typeof createFleetHandler>['forget']>[0]) => void = () => undefined;
  let front: ProbeFront | null = null;
  const fleet = new Fleet({
    logger,
    scheduler,
    gate,
    shard,
    ...(opts.target ? { target: opts.target } : {}),
    onJoin: (m) => front?.follow(m.spec.name, m.target),
    onLeave: (m) => {
      forget(m.target);
      front?.unfollow(m.spec.name, m.target);
    },
  });
  metrics = new FleetMetrics(
    { states: () => fleet.states(), pollsInFlight: () => scheduler.running, requestsInFlight: () => gate.active, requestsQueued: () => gate.queued },
    { shard, maxRequestsInFlight: settings.maxRequestsInFlight },
  );
  const fleetMetrics = metrics;
  const describe = (c: FleetChanges) => ({
    added: c.added.length,
    removed: c.removed.length,
    changed: c.changed.length,
    unchanged: c.unchanged.length,
    otherShards: c.otherShards,
  });
  const first = fleet.apply(specs);
  fleetMetrics.targetsInFile.set(specs.length);
  fleetMetrics.reloadSuccess.set(1);
  fleetMetrics.reloadTimestamp.set(Date.now() / 1000);
  let signature = digest(file);

  const scrubbers = scrubbersOf(logger);
  let port = settings.defaults.listenPort;
  let web;
  try {
    web = createWebServer({
      routes: (hooks) => {
        const routes = createFleetHandler({
          fleet,
          fleetRegistry: fleetMetrics.registry,
          processRegistry,
          logger,
          advertise: () =>
            `${settings.defaults.listenAddress === '0.0.0.0' || settings.defaults.listenAddress === '::' ? 'localhost' : settings.defaults.listenAddress}:${port}`,
          ...hooks,
        });
        forget = routes.forget;
        return routes.handler;
      },
      // The page shows no PBX secret; each target scrubs its own log lines.
      scrub: (text) => text,
      logger,
      processRegistry,
      ...(scrubbers ? { scrubbers } : {}),
      webConfigFile: settings.defaults.webConfigFile,
    });
  } catch (e) {
    fleet.close();
    throw e;
  }
  const { server } = web;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  // Without a web config (TLS, basic auth), a worker thread owns the port and answers the probes
  // (probe-front.ts); the routes listen on loopback behind it. With one, they listen themselves.
  const fronted = settings.defaults.webConfigFile === undefined;
  const publicAddress = { host: settings.defaults.listenAddress, port: settings.defaults.listenPort };
  try {
    const routes = await listen(server, fronted ? { host: '127.0.0.1', port: 0 } : publicAddress);
    if (fronted) {
      front = await ProbeFront.start({ ...publicAddress, upstreamPort: routes.port, logger });
      for (const m of fleet.list()) front.follow(m.spec.name, m.target);
    }
    port = front?.port ?? routes.port;
  } catch (e) {
    web.close();
    fleet.close();
    await closeServer(server, 0);
    throw e;
  }
  scheduler.start();
  logger.info(
    {
      address: settings.defaults.listenAddress,
      port,
      tls: web.tls,
      probes: fronted ? 'worker thread' : 'main thread',
      targetsFile: file,
      shard: `${shard.index}/${shard.count}`,
      ...describe(first),
    },
    'mikopbx-exporter listening (fleet mode)',
  );

  const reload = (reason: string): FleetChanges | null => {
    let next;
    try {
      next = loadTargetsFile(file, settings.defaults, env);
    } catch (e) {
      fleetMetrics.reloadSuccess.set(0);
      fleetMetrics.reloads.inc({ result: 'failure' });
      const message = e instanceof ConfigError ? e.message : String(e);
      logger.error({ reason: 'targets_file', trigger: reason }, `targets file reload failed, keeping the ${fleet.size} running targets: ${message}`);
      return null;
    }
    const changes = fleet.apply(next);
    fleetMetrics.targetsInFile.set(next.length);
    fleetMetrics.reloadSuccess.set(1);
    fleetMetrics.reloadTimestamp.set(Date.now() / 1000);
    fleetMetrics.reloads.inc({ result: 'success' });
    logger.info({ trigger: reason, ...describe(changes) }, 'targets file reloaded');
    return changes;
  };
  const timer = setInterval(() => {
    const now = digest(file);
    if (now === null || now === signature) return;
    signature = now;
    reload('file changed');
  }, opts.reloadCheckMs ?? 10_000);
  timer.unref();

  let stopping: Promise<void> | null = null;
  return {
    fleet,
    server,
    port,
    front,
    shard,
    processRegistry,
    metrics: fleetMetrics,
    reload: (reason) => {
      signature = digest(file);
      return reload(reason);
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        const jobsDone = scheduler.stop(2000);
        fleet.close();
        await jobsDone;
        await front?.close(opts.closeGraceMs ?? 1000);
        web.close();
        await closeServer(server, opts.closeGraceMs ?? 1000);
      })();
      return stopping;
    },
  };
}
