// HTTP pipeline: control paths, nginx limiter, pre-route faults, routing + auth, post-route faults.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SimContext } from './context.js';
import type { FaultInjector, FaultSpec } from './faults.js';
import { HTML_200_PAGE, HTML_LOGIN_PAGE, PHP_WARNING_PREFIX, wrongShape } from './faults.js';
import type { ApiResult, RawResponse, RequestContext, RouteOutcome } from './http-types.js';
import { JSON_TYPE, raw } from './http-types.js';
import { CONTROL_PREFIX, handleControl } from './control.js';
import type { ControlDeps } from './control.js';
import { renderV3, v3InternalError, v3NotFound, v3Unavailable, v3WorkerTimeout } from './envelope-v3.js';
import { legacyNotFound, legacyServerError, renderLegacy } from './envelope-legacy.js';
import { isForbiddenV3Path, routeV3 } from './routes-v3.js';
import { routeLegacy } from './routes-legacy.js';
import type { RequestLogEntry } from './types.js';

const MAX_BODY = 1024 * 1024;
const MAX_LOG = 100_000;

const NGINX_404 =
  '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export interface ServerDeps extends ControlDeps {
  ctx: SimContext;
  faults: FaultInjector;
  requests: RequestLogEntry[];
}

function normalizeIp(addr: string | undefined): string {
  if (addr === undefined) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function mergeParams(query: Record<string, string>, contentType: string, body: string): Record<string, unknown> {
  let fromBody: Record<string, unknown> = {};
  if (body.trim() !== '') {
    if (contentType.includes('application/json')) {
      try {
        const v: unknown = JSON.parse(body);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) fromBody = v as Record<string, unknown>;
      } catch {
        // PHP ignores an unparseable body
      }
    } else if (contentType.includes('application/x-www-form-urlencoded')) {
      fromBody = Object.fromEntries(new URLSearchParams(body));
    }
  }
  return { ...fromBody, ...query };
}

export class SimServer {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly deps: ServerDeps) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          const body = JSON.stringify({ error: String(err instanceof Error ? err.message : err) });
          res.writeHead(500, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        } else {
          res.destroy();
        }
      });
    });
    this.server.keepAliveTimeout = 5000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('simulator is closed'));
        return;
      }
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unlisten();
  }

  /** stops listening and drops every connection, as a PBX that went off the network; listen() again brings it back */
  async unlisten(): Promise<void> {
    for (const [t, wake] of this.timers) {
      clearTimeout(t);
      wake();
    }
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await done;
  }

  private send(res: ServerResponse, r: RawResponse): void {
    if (res.destroyed) return;
    const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
    res.writeHead(r.status, { Server: 'nginx', ...r.headers, 'Content-Length': body.length });
    res.end(body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { ctx, faults, requests } = this.deps;
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();

    if (path.startsWith(CONTROL_PREFIX)) {
      const body = (await readBody(req)) ?? '';
      this.send(res, handleControl(this.deps, method, path, url.searchParams, body));
      return;
    }

    const ip = normalizeIp(req.socket.remoteAddress);
    const query = Object.fromEntries(url.searchParams);
    const entry: RequestLogEntry = { time: ctx.clock.now(), method, path, query, status: 0, ip, authorized: false };
    requests.push(entry);
    if (requests.length > MAX_LOG) requests.splice(0, requests.length - MAX_LOG);
    if (isForbiddenV3Path(path)) ctx.stats.forbiddenCalls++;
    const reply = (r: RawResponse): void => {
      entry.status = r.status;
      this.send(res, r);
    };

    // nginx Lua: before PHP, before auth; it exists only on v3 builds, but a ban is a ban
    if (!ctx.limiter.allow(ip, ctx.mode === 'v3')) {
      ctx.stats.rateLimited++;
      reply(raw(429, 'Too many requests\n', 'text/plain'));
      return;
    }

    const pre = faults.take(path, 'pre');
    if (pre) {
      await this.preFault(pre, ip, res, entry);
      return;
    }

    const body = await readBody(req);
    if (body === null) {
      reply(raw(413, '<html><body><h1>413 Request Entity Too Large</h1></body></html>', 'text/html'));
      return;
    }
    const rc: RequestContext = {
      method,
      path,
      query,
      params: mergeParams(query, req.headers['content-type'] ?? '', body),
      headers: req.headers,
      ip,
      body,
    };
    const outcome = this.route(rc);
    entry.authorized = outcome.authorized;

    let rendered: RawResponse;
    if (outcome.kind === 'api') {
      let api = outcome.api;
      let status: number | undefined;
      const apiFault = api.result && faults.hasPost(path) ? faults.take(path, 'post') : null;
      let bodyFault: FaultSpec | null = null;
      if (apiFault) {
        [api, status, bodyFault] = this.apiFault(apiFault, api);
      }
      rendered = ctx.mode === 'v3' ? renderV3(ctx.clock, ctx.nextPid(), api, status) : renderLegacy(ctx.clock, ctx.nextPid(), api);
      if (bodyFault) {
        await this.bodyFault(bodyFault, rendered, res, entry);
        return;
      }
    } else {
      rendered = outcome.raw;
      if (rendered.status === 200 && outcome.authorized && faults.hasPost(path)) {
        const f = faults.take(path, 'post');
        if (f && (f.kind === 'slow-drip' || f.kind === 'truncated-json' || f.kind === 'malformed-json')) {
          await this.bodyFault(f, rendered, res, entry);
          return;
        }
      }
    }
    reply(rendered);
  }

  private route(rc: RequestContext): RouteOutcome {
    const { ctx } = this.deps;
    // nginx serves this static file in every version
    if (rc.path === '/pbxcore/api/system/ping') return { kind: 'raw', raw: raw(200, 'PONG', 'text/plain'), authorized: true };
    const routed = ctx.mode === 'v3' ? routeV3(ctx, rc) : routeLegacy(ctx, rc);
    if (routed) return routed;
    if (rc.path.startsWith('/pbxcore/')) {
      const body = ctx.mode === 'v3' ? v3NotFound(ctx.clock, rc.path) : legacyNotFound(ctx.clock);
      return { kind: 'raw', raw: body, authorized: false };
    }
    return { kind: 'raw', raw: raw(404, NGINX_404, 'text/html'), authorized: false };
  }

  /** result-false / wrong-shape / empty-active-calls change the action result; the rest change the bytes */
  private apiFault(f: FaultSpec, api: ApiResult): [ApiResult, number | undefined, FaultSpec | null] {
    const { ctx } = this.deps;
    switch (f.kind) {
      case 'result-false':
        return [{ ...api, result: false, data: [], messages: { error: [f.message ?? 'Simulated failure'] } }, ctx.mode === 'v3' ? 422 : undefined, null];
      case 'wrong-shape':
        return [{ ...api, data: f.data !== undefined ? f.data : wrongShape(api.data) }, undefined, null];
      case 'empty-active-calls':
        return [{ ...api, data: [] }, undefined, null];
      default:
        return [api, undefined, f];
    }
  }

  private async preFault(f: FaultSpec, ip: string, res: ServerResponse, entry: RequestLogEntry): Promise<void> {
    const { ctx } = this.deps;
    const reply = (r: RawResponse): void => {
      entry.status = r.status;
      this.send(res, r);
    };
    if (f.delayMs !== undefined && f.delayMs > 0 && f.kind !== 'hang') await this.sleep(f.delayMs);
    if (res.destroyed) return;
    switch (f.kind) {
      case 'reset':
        res.socket?.resetAndDestroy();
        return;
      case 'hang':
        return; // the socket stays open until the client gives up or the simulator closes
      case 'http-500':
        reply(ctx.mode === 'v3' ? v3InternalError(ctx.clock, ctx.nextPid()) : legacyServerError(ctx.clock));
        return;
      case 'html-200':
        reply(raw(200, HTML_200_PAGE, 'text/html; charset=UTF-8'));
        return;
      case 'html-login-200':
        reply(raw(200, HTML_LOGIN_PAGE, 'text/html; charset=UTF-8'));
        return;
      case 'status-429':
        ctx.limiter.ban(ip);
        ctx.stats.rateLimited++;
        reply(raw(429, 'Too many requests\n', 'text/plain'));
        return;
      case 'status-503':
        reply(v3Unavailable(ctx.clock, ctx.nextPid()));
        return;
      case 'worker-timeout-400':
        reply(ctx.mode === 'v3' ? v3WorkerTimeout(ctx.clock) : legacyServerError(ctx.clock));
        return;
      case 'huge-body':
        entry.status = 200;
        await this.hugeBody(res, f.sizeBytes ?? 50 * 1024 * 1024);
        return;
      default:
        return;
    }
  }

  private async bodyFault(f: FaultSpec, r: RawResponse, res: ServerResponse, entry: RequestLogEntry): Promise<void> {
    const body = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
    entry.status = r.status;
    if (f.kind === 'truncated-json') {
      this.send(res, { ...r, body: body.subarray(0, Math.max(1, Math.floor(body.length / 2))) });
      return;
    }
    if (f.kind === 'malformed-json') {
      this.send(res, { ...r, body: Buffer.concat([Buffer.from(PHP_WARNING_PREFIX), body]) });
      return;
    }
    // slow-drip: a valid body, one byte at a time
    const interval = f.intervalMs ?? 100;
    res.writeHead(r.status, { Server: 'nginx', ...r.headers, 'Content-Length': body.length });
    for (let i = 0; i < body.length; i++) {
      if (res.destroyed || this.closed) return;
      res.write(body.subarray(i, i + 1));
      await this.sleep(interval);
    }
    if (!res.destroyed) res.end();
  }

  private async hugeBody(res: ServerResponse, size: number): Promise<void> {
    const head = '{"result":true,"data":[';
    const tail = '"end"],"messages":[],"function":"getStatuses","processor":"","pid":1}';
    const item = `"${'x'.repeat(1022)}",`; // 1025 bytes
    const n = Math.max(0, Math.floor((size - head.length - tail.length) / item.length));
    const total = head.length + n * item.length + tail.length;
    res.writeHead(200, { Server: 'nginx', 'Content-Type': JSON_TYPE, 'Content-Length': total });
    const chunk = Buffer.from(item.repeat(64));
    res.write(head);
    let left = n;
    while (left > 0) {
      if (res.destroyed || this.closed) return;
      const take = Math.min(64, left);
      const ok = res.write(take === 64 ? chunk : chunk.subarray(0, take * item.length));
      left -= take;
      if (!ok)
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
    }
    if (!res.destroyed) res.end(tail);
  }

  /** resolves early when the simulator closes */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }
}
