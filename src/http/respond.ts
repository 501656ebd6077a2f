import type http from 'node:http';
import type { Logger } from 'pino';
import { acceptsGzip } from './accept-encoding.js';
import type { MetricsBody } from './metrics-body.js';
import { GZIP_METRICS_HEADERS, METRICS_HEADERS } from './metrics-headers.js';

export { METRICS_CONTENT_TYPE } from './metrics-headers.js';

/** What every route set gets from the web server (WEB_CONFIG_FILE): auth, headers, scrubbing. */
export interface RouteHooks {
  /** Returns false (after answering) when a protected path is refused, e.g. by basic auth. */
  authorize?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;
  /** Removes secrets from pages. */
  scrub: (text: string) => string;
  /** Extra response headers (web-config http_server_config.headers), read per request. */
  headers?: () => Record<string, string>;
  /** Whether the server speaks TLS. */
  tls?: boolean;
}

export function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

/** Runs a protected route after the authorize hook (which answers refusals itself). */
export async function guarded(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  opts: { authorize?: RouteHooks['authorize']; logger: Logger },
  serve: () => unknown,
): Promise<void> {
  try {
    if (opts.authorize && !(await opts.authorize(req, res))) return;
    await serve();
  } catch (e) {
    internalError(res, opts.logger, e);
  }
}

export function internalError(res: http.ServerResponse, log: Logger, e: unknown): void {
  log.error({ err: e }, 'serving a request failed');
  if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
}

/**
 * Writes the prepared chunks (HEAD: headers only, with the length GET would send). The answer
 * varies with Accept-Encoding, which Vary says on both forms for any cache in between.
 */
export async function serveMetrics(req: http.IncomingMessage, res: http.ServerResponse, body: MetricsBody, log: Logger): Promise<void> {
  try {
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    writeMetrics(req, res, gzip, body.ready(gzip) ?? (await body.chunks(gzip)));
  } catch (e) {
    log.error({ err: e }, 'rendering /metrics failed');
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
  }
}

/** serveMetrics without waiting, when the answer is ready; false when it is not (yet). */
export function serveReadyMetrics(req: http.IncomingMessage, res: http.ServerResponse, body: MetricsBody): boolean {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const chunks = body.ready(gzip);
  if (!chunks) return false;
  writeMetrics(req, res, gzip, chunks);
  return true;
}

function writeMetrics(req: http.IncomingMessage, res: http.ServerResponse, gzip: boolean, chunks: Buffer[]): void {
  let length = 0;
  for (const c of chunks) length += c.length;
  const headers = gzip ? GZIP_METRICS_HEADERS : METRICS_HEADERS;
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

/** The start of a request's handling: extra headers, the method check, the path. Null when answered. */
export function routePath(req: http.IncomingMessage, res: http.ServerResponse, hooks: RouteHooks): { path: string; query: string } | null {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const extra = hooks.headers?.();
  if (extra) for (const name in extra) res.setHeader(name, extra[name] as string);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    return null;
  }
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** /metrics-like answers: the ready fast path without a promise, else the async one. */
export function serveBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: MetricsBody,
  opts: { authorize?: RouteHooks['authorize']; logger: Logger },
): void {
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
}
