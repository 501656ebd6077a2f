import type http from 'node:http';
import { gzip as gzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RenderedExposition } from '../metrics/rendered.js';
import { VERSION } from '../version.js';
import { acceptsGzip } from './accept-encoding.js';
import { renderFleetLanding, type FleetLandingRow } from './fleet-landing.js';
import { MetricsBody } from './metrics-body.js';
import { guarded, METRICS_CONTENT_TYPE, routePath, send, serveBody, type RouteHooks } from './respond.js';

const gzip = promisify(gzipCb);

/** What the fleet routes need of one PBX target. */
export interface ProbedTarget {
  exposition(): RenderedExposition;
  onRender(listener: (exposition: RenderedExposition) => void): void;
  scrub(text: string): string;
  readonly state: string;
  readonly generation: string | null;
}

/** What the fleet routes need of the fleet: its members by name, with their labels. */
export interface ServedFleet {
  get(name: string): { target: ProbedTarget; spec: { name: string; labels: Record<string, string>; config: { url: string } } } | undefined;
  list(): { target: ProbedTarget; spec: { name: string; labels: Record<string, string>; config: { url: string } } }[];
}

export interface FleetHandlerOptions extends Partial<RouteHooks> {
  fleet: ServedFleet;
  /** The exporter's own health (fleet metrics) and process metrics, for /metrics. */
  fleetRegistry: Registry;
  processRegistry: Registry;
  logger: Logger;
  /** The address Prometheus should scrape when a /targets request carries no usable Host header. */
  advertise: () => string;
}

/** A Host header usable as a scrape address: host name or IP, optional port, nothing else. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Fleet mode's routes: /probe?target=NAME serves one PBX's last snapshot (the same ready,
 * pre-compressed bodies as /metrics of a single PBX; it never contacts a PBX, and only names from
 * the targets file are known, so a request cannot make the exporter call a URL); /targets is
 * Prometheus http_sd for this replica's shard; /metrics is the exporter's own health.
 */
export function createFleetHandler(opts: FleetHandlerOptions): {
  handler: http.RequestListener;
  /** A member left the fleet: forget its compressed bodies. */
  forget: (target: ProbedTarget) => void;
} {
  const hooks: RouteHooks = { ...opts, scrub: opts.scrub ?? ((t: string) => t) };
  const bodies = new WeakMap<ProbedTarget, MetricsBody>();
  const bodyOf = (target: ProbedTarget): MetricsBody => {
    let body = bodies.get(target);
    if (!body) {
      const created = new MetricsBody({ exposition: () => target.exposition() });
      target.onRender((exposition) => created.rendered(exposition));
      bodies.set(target, created);
      body = created;
    }
    return body;
  };
  const handler: http.RequestListener = (req, res) => {
    const route = routePath(req, res, hooks);
    if (!route) return;
    switch (route.path) {
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        // Ready once the targets file is loaded (the start fails otherwise): one PBX down must not
        // take a replica out of its Service.
        send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
        return;
      case '/probe': {
        const name = new URLSearchParams(route.query).get('target');
        if (!name) {
          send(res, 400, 'text/plain; charset=utf-8', 'missing ?target=NAME (a name from the targets file)\n');
          return;
        }
        const member = opts.fleet.get(name);
        if (!member) {
          send(res, 404, 'text/plain; charset=utf-8', 'unknown target (not in the targets file, or polled by another shard)\n');
          return;
        }
        serveBody(req, res, bodyOf(member.target), opts);
        return;
      }
      case '/targets':
        void guarded(req, res, opts, () => send(res, 200, 'application/json', JSON.stringify(httpSd(opts, req))));
        return;
      case '/metrics':
        void guarded(req, res, opts, () => serveOwnMetrics(req, res, opts));
        return;
      case '/':
        void guarded(req, res, opts, () => send(res, 200, 'text/html; charset=utf-8', hooks.scrub(landing(opts))));
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };
  return { handler, forget: (target) => bodies.delete(target) };
}

/** One http_sd group per target: its labels differ (__param_target and the user's). */
function httpSd(opts: FleetHandlerOptions, req: http.IncomingMessage): { targets: string[]; labels: Record<string, string> }[] {
  const host = req.headers.host;
  const address = host && HOST.test(host) ? host : opts.advertise();
  return opts.fleet.list().map(({ spec }) => ({
    targets: [address],
    labels: {
      ...spec.labels,
      __metrics_path__: '/probe',
      __param_target: spec.name,
      // Behind WEB_CONFIG_FILE's TLS, Prometheus must scrape with https.
      ...(opts.tls ? { __scheme__: 'https' } : {}),
    },
  }));
}

async function serveOwnMetrics(req: http.IncomingMessage, res: http.ServerResponse, opts: FleetHandlerOptions): Promise<void> {
  const [own, proc] = await Promise.all([opts.fleetRegistry.metrics(), opts.processRegistry.metrics()]);
  const text = Buffer.from(own + proc);
  const zipped = acceptsGzip(req.headers['accept-encoding']);
  const body = zipped ? await gzip(text) : text;
  res.writeHead(200, {
    'content-type': METRICS_CONTENT_TYPE,
    'content-length': body.length,
    'cache-control': 'no-store',
    vary: 'accept-encoding',
    ...(zipped ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function landing(opts: FleetHandlerOptions): string {
  const rows: FleetLandingRow[] = opts.fleet.list().map(({ target, spec }) => ({
    name: spec.name,
    host: target.scrub(new URL(spec.config.url).host),
    state: target.state,
    api: target.generation,
    labels: spec.labels,
  }));
  return renderFleetLanding({ version: VERSION, targets: rows });
}
