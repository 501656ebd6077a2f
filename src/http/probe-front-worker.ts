// The scrape front of fleet mode, in a worker thread of its own. It owns the listening socket and
// answers Prometheus' `GET /probe?target=NAME` (gzip) from the compressed snapshots the main
// thread posts after each render, on the raw socket (fast-scrape.ts); every other request goes
// on, unchanged, to the exporter's routes on the main thread's loopback server. A thousand PBXs' answers are parsed and rendered on
// the main thread, and its garbage collections, which stop it for a few milliseconds several times
// a second, no longer hold up the scrapes that arrive meanwhile.
//
// Node builtins and leaf modules only, imported with their .ts names: the thread runs this file as
// it is (the build rewrites the names), also from the TypeScript sources in tests.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { acceptsGzip } from './accept-encoding.ts';
import { createFastScrapeServer, type FastAnswer } from './fast-scrape.ts';
import { GZIP_METRICS_HEADERS } from './metrics-headers.ts';

export interface FrontSettings {
  host: string;
  port: number;
  /** The main thread's server, on 127.0.0.1. */
  upstreamPort: number;
}

/** From the main thread. */
export type ToFront = { kind: 'answer'; name: string; gzip: Uint8Array } | { kind: 'forget'; name: string } | { kind: 'close'; graceMs: number };

/** To the main thread. */
export type FromFront = { kind: 'listening'; port: number } | { kind: 'failed'; code: string; message: string } | { kind: 'proxy-error'; message: string };

// Hop-by-hop headers belong to one connection, not to the answer passed on.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function runFront(settings: FrontSettings, port: NonNullable<typeof parentPort>): void {
  const answers = new Map<string, Buffer>();
  const upstream = new http.Agent({ keepAlive: true });

  const pass = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    const onward = http.request({ host: '127.0.0.1', port: settings.upstreamPort, method: req.method, path: req.url, headers, agent: upstream }, (answer) => {
      const raw = answer.rawHeaders;
      const kept: string[] = [];
      for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has((raw[i] as string).toLowerCase())) kept.push(raw[i] as string, raw[i + 1] as string);
      res.writeHead(answer.statusCode ?? 502, kept);
      answer.pipe(res);
    });
    onward.on('error', (e) => {
      port.postMessage({ kind: 'proxy-error', message: e.message } satisfies FromFront);
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end('the exporter did not answer\n');
      }
    });
    res.on('close', () => onward.destroy());
    req.pipe(onward);
  };

  // Probes are read and answered on the raw socket; any other request, and the rest of its
  // connection, goes to the node:http server below (fast-scrape.ts), which answers the probes of
  // such a connection from the same renders and passes everything else on.
  const probe = (path: string, query: string): Buffer | undefined => {
    const name = path === '/probe' ? new URLSearchParams(query).get('target') : null;
    return name ? answers.get(name) : undefined;
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const gzipGet = req.method === 'GET' && acceptsGzip(req.headers['accept-encoding']);
    const body = gzipGet ? probe(q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1)) : undefined;
    if (!body) {
      pass(req, res);
      return;
    }
    res.writeHead(200, [...GZIP_METRICS_HEADERS, 'content-length', String(body.length)]);
    res.end(body);
  });
  // As the main thread's server: Prometheus keeps its connections between scrapes.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;

  const answer = (path: string, query: string): FastAnswer => {
    const body = probe(path, query);
    return body ? [body] : null;
  };
  const front = createFastScrapeServer({ answer, fallback: server, keepAliveMs: server.keepAliveTimeout, headersTimeoutMs: server.headersTimeout });

  port.on('message', (m: ToFront) => {
    switch (m.kind) {
      case 'answer':
        answers.set(m.name, Buffer.from(m.gzip.buffer, m.gzip.byteOffset, m.gzip.byteLength));
        return;
      case 'forget':
        answers.delete(m.name);
        return;
      case 'close':
        void front.close(m.graceMs).then(() => {
          upstream.destroy();
          port.close();
        });
    }
  });
  front.server.once('error', (e: NodeJS.ErrnoException) => {
    port.postMessage({ kind: 'failed', code: e.code ?? '', message: e.message } satisfies FromFront);
    port.close();
  });
  front.server.listen(settings.port, settings.host, () => {
    const address = front.server.address();
    port.postMessage({ kind: 'listening', port: typeof address === 'object' && address ? address.port : settings.port } satisfies FromFront);
  });
}

if (parentPort) runFront(workerData as FrontSettings, parentPort);
