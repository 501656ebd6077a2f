import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { configWarnings, type Config } from './config.js';
import { createFastScrapeServer, type FastScrapeServer } from './http/fast-scrape.js';
import { closeServer, createRoutes, listen, type Routes } from './http/server.js';
import { createWebServer } from './http/web-server.js';
import { scrubbersOf } from './log.js';
import { createProcessRegistry } from './metrics/process.js';
import { Scheduler } from './scheduler.js';
import { PbxTarget, type TargetOptions } from './target.js';

export interface Exporter {
  target: PbxTarget;
  /** The routes' server; it holds the port itself only with a web config (else the fast scrape path does). */
  server: http.Server | https.Server;
  port: number;
  /** Whether /metrics is served over TLS (WEB_CONFIG_FILE tls_server_config). */
  tls: boolean;
  processRegistry: Registry;
  /** Starts the polls that are due now and resolves when they have finished (for manualSchedule). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Injected clock and budget sleep, for accelerated tests. */
  now?: TargetOptions['now'];
  sleep?: TargetOptions['sleep'];
  maxBodyBytes?: number;
  /** Grace period for open HTTP connections at shutdown. */
  closeGraceMs?: number;
  /** How often WEB_CONFIG_FILE and its certificates are checked for changes. */
  reloadCheckMs?: number;
  /**
   * The poll schedule follows the injected clock and has no timer of its own: the caller moves
   * the clock and calls exporter.tick() (the benchmark's accelerated hour).
   */
  manualSchedule?: boolean;
}

/**
 * Wires one target, its schedule and the HTTP server; used by main and by the demo. Throws
 * ConfigError for a bad WEB_CONFIG_FILE (before anything is started).
 */
export async function startExporter(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Exporter> {
  const processRegistry = createProcessRegistry();
  const { now, sleep, maxBodyBytes } = opts;
  // The scrubbers the logger writes through: the web server joins them with its own secrets.
  const scrubbers = scrubbersOf(logger);
  const target = new PbxTarget({
    config,
    logger,
    ...(now ? { now } : {}),
    ...(sleep ? { sleep } : {}),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
  });
  let web;
  let routes: Routes | null = null;
  try {
    web = createWebServer({
      routes: (hooks) => {
        routes = createRoutes({ target, processRegistry, logger, ...hooks });
        return routes.listener;
      },
      scrub: (text) => target.scrub(text),
      logger,
      ...(scrubbers ? { scrubbers } : {}),
      webConfigFile: config.webConfigFile,
      processRegistry,
      ...(opts.reloadCheckMs ? { reloadCheckMs: opts.reloadCheckMs } : {}),
    });
  } catch (e) {
    target.close();
    throw e;
  }
  for (const warning of configWarnings(config)) logger.warn({ reason: 'config' }, warning);
  await target.render();
  const { server } = web;
  server.keepAliveTimeout = 65_000;
  // A client that never finishes its request must not hold a socket (or shutdown) for long.
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  // Without a web config (TLS, basic auth, extra headers), Prometheus' gzip scrapes of /metrics
  // are answered on the raw socket, and every other request by the routes (fast-scrape.ts).
  const fastAnswer = web.plain ? (routes as Routes | null)?.fastAnswer : undefined;
  const fast: FastScrapeServer | null = fastAnswer
    ? createFastScrapeServer({
        answer: fastAnswer,
        fallback: server as http.Server,
        keepAliveMs: server.keepAliveTimeout,
        headersTimeoutMs: server.headersTimeout,
      })
    : null;
  let port: number;
  try {
    ({ port } = await listen(fast?.server ?? server, { host: config.listenAddress, port: config.listenPort }));
  } catch (e) {
    web.close();
    target.close();
    throw e;
  }

  const jobs = target.jobs();
  const onError = (job: string, e: unknown) => logger.error({ job, err: e }, 'poll crashed');
  const scheduler = opts.manualSchedule ? new Scheduler(jobs, onError, now) : new Scheduler(jobs, onError);
  if (!opts.manualSchedule) scheduler.start();
  logger.info({ address: config.listenAddress, port, tls: web.tls, pbx: config.url, collectors: target.collectorNames() }, 'mikopbx-exporter listening');

  let stopping: Promise<void> | null = null;
  return {
    target,
    server,
    port,
    tls: web.tls,
    processRegistry,
    tick: () => scheduler.tick(),
    stop() {
      stopping ??= (async () => {
        const jobsDone = scheduler.stop(2000); // stops scheduling at once
        target.close(); // aborts the request in flight, so the running poll ends now
        await jobsDone;
        web.close();
        await (fast ? fast.close(opts.closeGraceMs ?? 1000) : closeServer(server, opts.closeGraceMs ?? 1000));
      })();
      return stopping;
    },
  };
}
