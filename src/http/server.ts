import type http from 'node:http';
import type net from 'node:net';
import type https from 'node:https';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CollectorName } from '../collectors/table.js';
import type { RenderedExposition } from '../metrics/rendered.js';
import type { CollectorResult } from '../target/collector-run.js';
import { VERSION } from '../version.js';
import { renderLanding } from './landing.js';
import type { FastAnswer } from './fast-scrape.js';
import { MetricsBody } from './metrics-body.js';
import { guarded, routePath, send, serveBody, type RouteHooks } from './respond.js';

export { METRICS_CONTENT_TYPE } from './respond.js';

/** What the HTTP side needs of a PBX target: its rendered snapshot and the state the pages show. */
export interface ServedTarget {
  exposition(): RenderedExposition;
  onRender(listener: (exposition: RenderedExposition) => void): void;
  isReady(): boolean;
  scrub(text: string): string;
  readonly generation: string | null;
  /** The collectors this target runs (those its configuration can run). */
  collectorNames(): readonly CollectorName[];
  readonly results: ReadonlyMap<CollectorName, CollectorResult>;
  intervalSeconds(name: CollectorName): number;
  configuredIntervalSeconds(name: CollectorName): number;
}

export interface HandlerOptions extends Partial<RouteHooks> {
  target: ServedTarget;
  processRegistry: Registry;
  logger: Logger;
  /** How long rendered process metrics are reused (default 1 s). */
  processMaxAgeMs?: number;
  /** Clock of that reuse (tests). */
  now?: () => number;
}

export interface Routes {
  listener: http.RequestListener;
  /** The gzip /metrics answer for the fast scrape path (fast-scrape.ts); null for any other path. */
  fastAnswer: (path: string) => FastAnswer;
}

/** Routes of contract §3 for one PBX (see createRoutes). */
export function createHandler(opts: HandlerOptions): http.RequestListener {
  return createRoutes(opts).listener;
}

/**
 * Routes of contract §3 for one PBX. /metrics serves the target's last rendered snapshot plus the
 * cheap process metrics and never waits on the PBX.
 */
export function createRoutes(opts: HandlerOptions): Routes {
  const { target } = opts;
  const hooks: RouteHooks = { ...opts, scrub: opts.scrub ?? ((t: string) => target.scrub(t)) };
  const body = new MetricsBody({
    exposition: () => target.exposition(),
    processRegistry: opts.processRegistry,
    ...(opts.processMaxAgeMs !== undefined ? { processMaxAgeMs: opts.processMaxAgeMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  target.onRender((exposition) => body.rendered(exposition));
  const fastAnswer = (path: string): FastAnswer => (path === '/metrics' ? (body.ready(true) ?? body.chunks(true)) : null);
  const listener: http.RequestListener = (req, res) => {
    const route = routePath(req, res, hooks);
    if (!route) return;
    switch (route.path) {
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        if (target.isReady()) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
        else send(res, 503, 'text/plain; charset=utf-8', 'waiting for the first poll of every collector\n');
        return;
      case '/metrics':
        serveBody(req, res, body, opts);
        return;
      case '/':
        void guarded(req, res, opts, () => send(res, 200, 'text/html; charset=utf-8', hooks.scrub(landing(target))));
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };
  return { listener, fastAnswer };
}

function landing(target: ServedTarget): string {
  return renderLanding({
    version: VERSION,
    api: target.generation,
    ready: target.isReady(),
    collectors: target.collectorNames().map((name) => ({
      name,
      result: target.results.get(name),
      intervalSeconds: target.intervalSeconds(name),
      configuredSeconds: target.configuredIntervalSeconds(name),
    })),
  });
}

export interface ListenOptions {
  host: string;
  port: number;
}

export async function listen(server: net.Server, opts: ListenOptions): Promise<{ port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : opts.port };
}

/** Stops listening, drops idle keep-alive sockets now and busy ones after a grace period. */
export function closeServer(server: http.Server | https.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
