import http from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RenderedExposition } from '../metrics/rendered.js';
import type { CollectorResult } from '../target/collector-run.js';
import type { CollectorName } from '../collectors/table.js';
import { VERSION } from '../version.js';
import { acceptsGzip } from './accept-encoding.js';
import { renderLanding } from './landing.js';
import { MetricsBody } from './metrics-body.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What the HTTP side needs of a PBX target: its rendered snapshot and the state the pages show. */
export interface ServedTarget {
  exposition(): RenderedExposition;
  onRender(listener: (exposition: RenderedExposition) => void): void;
  isReady(): boolean;
  scrub(text: string): string;
  readonly generation: string | null;
  readonly config: { readonly collectors: readonly CollectorName[] };
  readonly results: ReadonlyMap<CollectorName, CollectorResult>;
  intervalSeconds(name: CollectorName): number;
  configuredIntervalSeconds(name: CollectorName): number;
}

export interface HandlerOptions {
  target: ServedTarget;
  processRegistry: Registry;
  logger: Logger;
  /** Returns false (after answering) when a protected path is refused, e.g. by basic auth. */
  authorize?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;
  /** Removes secrets from the landing page; defaults to the target's scrubber. */
  scrub?: (text: string) => string;
  /** Extra response headers (web-config http_server_config.headers), read per request. */
  headers?: () => Record<string, string>;
  /** How long rendered process metrics are reused (default 1 s). */
  processMaxAgeMs?: number;
  /** Clock of that reuse (tests). */
  now?: () => number;
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

/**
 * Routes of contract §3. /metrics serves the target's last rendered snapshot plus the cheap
 * process metrics and never waits on the PBX.
 */
export function createHandler(opts: HandlerOptions): http.RequestListener {
  const { target } = opts;
  const body = new MetricsBody({
    exposition: () => target.exposition(),
    processRegistry: opts.processRegistry,
    ...(opts.processMaxAgeMs !== undefined ? { processMaxAgeMs: opts.processMaxAgeMs } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  target.onRender((exposition) => body.rendered(exposition));
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const extra = opts.headers?.();
    if (extra) for (const name in extra) res.setHeader(name, extra[name] as string);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        if (target.isReady()) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
        else send(res, 503, 'text/plain; charset=utf-8', 'waiting for the first poll of every collector\n');
        return;
      case '/metrics':
        // Prometheus' path: without an authorize hook and with the answer ready, no promise at all.
        if (!opts.authorize) {
          try {
            if (serveReadyMetrics(req, res, body)) return;
          } catch (e) {
            internalError(res, opts.logger, e);
            return;
          }
        }
        void guarded(req, res, opts, () => serveMetrics(req, res, body, opts.logger));
        return;
      case '/':
        void guarded(req, res, opts, () => send(res, 200, 'text/html; charset=utf-8', (opts.scrub ?? ((t: string) => target.scrub(t)))(landing(target))));
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  };
}

function landing(target: ServedTarget): string {
  return renderLanding({
    version: VERSION,
    api: target.generation,
    ready: target.isReady(),
    collectors: target.config.collectors.map((name) => ({
      name,
      result: target.results.get(name),
      intervalSeconds: target.intervalSeconds(name),
      configuredSeconds: target.configuredIntervalSeconds(name),
    })),
  });
}

/** Runs a protected route after the authorize hook (which answers refusals itself). */
async function guarded(req: http.IncomingMessage, res: http.ServerResponse, opts: HandlerOptions, serve: () => unknown): Promise<void> {
  try {
    if (opts.authorize && !(await opts.authorize(req, res))) return;
    await serve();
  } catch (e) {
    internalError(res, opts.logger, e);
  }
}

function internalError(res: http.ServerResponse, log: Logger, e: unknown): void {
  log.error({ err: e }, 'serving a request failed');
  if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
}

/**
 * Writes the prepared chunks (HEAD: headers only, with the length GET would send). The answer
 * varies with Accept-Encoding, which Vary says on both forms for any cache in between.
 */
async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, body: MetricsBody, log: Logger): Promise<void> {
  try {
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    writeMetrics(req, res, gzip, body.ready(gzip) ?? (await body.chunks(gzip)));
  } catch (e) {
    log.error({ err: e }, 'rendering /metrics failed');
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
  }
}

/** serveMetrics without waiting, when the answer is ready; false when it is not (yet). */
function serveReadyMetrics(req: http.IncomingMessage, res: http.ServerResponse, body: MetricsBody): boolean {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const chunks = body.ready(gzip);
  if (!chunks) return false;
  writeMetrics(req, res, gzip, chunks);
  return true;
}

// Name, value, name, value: the same for every answer, so built once.
const METRICS_HEADERS = ['content-type', METRICS_CONTENT_TYPE, 'cache-control', 'no-store', 'vary', 'accept-encoding'];
const GZIP_HEADERS = [...METRICS_HEADERS, 'content-encoding', 'gzip'];

function writeMetrics(req: http.IncomingMessage, res: http.ServerResponse, gzip: boolean, chunks: Buffer[]): void {
  let length = 0;
  for (const c of chunks) length += c.length;
  const headers = gzip ? GZIP_HEADERS : METRICS_HEADERS;
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i] as string, headers[i + 1] as string);
  res.setHeader('content-length', length);
  res.statusCode = 200;
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Headers and body leave in one writev: end(buffer) sends both; several chunks go corked.
  if (chunks.length === 1) {
    res.end(chunks[0]);
    return;
  }
  res.cork();
  for (const c of chunks) res.write(c);
  res.uncork();
  res.end();
}

export interface ListenOptions {
  host: string;
  port: number;
}

export async function listen(server: http.Server | import('node:https').Server, opts: ListenOptions): Promise<{ port: number }> {
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
