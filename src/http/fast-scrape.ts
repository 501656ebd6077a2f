// Prometheus' scrape, answered on the raw socket. A scrape is the same small request every time
// (`GET /metrics` or `GET /probe?target=…`, `Accept-Encoding: gzip`) for an answer that is
// already made; node:http spends more on the request and response objects around it than on
// writing the answer (about 30 µs against 20 µs for a 124 KiB answer: nginx, with gzip_static,
// needs 22–26). This server reads such a request itself and writes the answer; a connection with
// any other request (another path, HEAD, plain text, a body, HTTP/1.0, anything unusual) is
// handed, with the bytes read so far, to the node:http server, which answers it and everything
// after it on that connection. So every request but the scrape sees node:http exactly as before.
//
// Node builtins and leaf modules only, imported with their .ts names: the scrape front's worker
// thread runs this file as it is (the build rewrites the names), also from the sources in tests.
import type http from 'node:http';
import net from 'node:net';
import { acceptsGzip } from './accept-encoding.ts';
import { GZIP_METRICS_HEADERS } from './metrics-headers.ts';

/** The gzip answer's chunks; a promise when it is being made; null: not served here (node:http answers). */
export type FastAnswer = readonly Buffer[] | Promise<readonly Buffer[] | null> | null;

export interface FastScrapeOptions {
  /** The gzip answer to `GET path?query`, or null for a request this server leaves to node:http. */
  answer: (path: string, query: string) => FastAnswer;
  /** Takes every connection with a request not answered here (its timeouts apply from then on). */
  fallback: http.Server;
  /** An idle connection is closed after this long (as node:http's keepAliveTimeout). */
  keepAliveMs: number;
  /** A request head must be complete this long after its first byte (as node:http's headersTimeout). */
  headersTimeoutMs: number;
}

export interface FastScrapeServer {
  server: net.Server;
  /** Stops listening; closes idle connections now, busy ones after graceMs (node:http's too). */
  close(graceMs: number): Promise<void>;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const NOTHING = Buffer.alloc(0);
/** A head larger than this goes to node:http (which refuses it with 431 past its own limit). */
const MAX_HEAD_BYTES = 16 * 1024;
/** Headers that frame a body or change the protocol: node:http's strict parser deals with them. */
const NOT_HERE = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade']);
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Whether a field value has a control character other than tab (invalid: RFC 9110, 5.5). */
function badValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
const STATUS_AND_HEADERS = (() => {
  let text = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; i < GZIP_METRICS_HEADERS.length; i += 2) text += `${GZIP_METRICS_HEADERS[i]}: ${GZIP_METRICS_HEADERS[i + 1]}\r\n`;
  return text;
})();

interface Scrape {
  path: string;
  query: string;
  close: boolean;
}

/**
 * The request in `head` (without the blank line) if it is a scrape this server may answer: GET,
 * HTTP/1.1, an origin-form target, well-formed fields with a Host, no body, gzip accepted. Null
 * otherwise.
 */
export function parseScrape(head: string): Scrape | null {
  const lines = head.split('\r\n');
  const request = /^GET (\/[^\s?#]*)(?:\?([^\s#]*))? HTTP\/1\.1$/.exec(lines[0] as string);
  if (!request) return null;
  let acceptEncoding: string | undefined;
  let close = false;
  let host = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) return null; // also a folded line, which starts with a space
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name)) return null;
    const value = line.slice(colon + 1).trim();
    if (badValue(value)) return null;
    const lower = name.toLowerCase();
    if (NOT_HERE.has(lower)) return null;
    if (lower === 'accept-encoding') acceptEncoding = acceptEncoding === undefined ? value : `${acceptEncoding},${value}`;
    else if (lower === 'connection' && value.split(',').some((t) => t.trim().toLowerCase() === 'close')) close = true;
    else if (lower === 'host') host = true;
  }
  // HTTP/1.1 requires Host, and node:http refuses a request without it (requireHostHeader).
  if (!host || !acceptsGzip(acceptEncoding)) return null;
  return { path: request[1] as string, query: request[2] ?? '', close };
}

let dateSecond = -1;
let dateText = '';

/** The Date header's value, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export function createFastScrapeServer(opts: FastScrapeOptions): FastScrapeServer {
  /** Connections this server still reads; `busy`: an answer is being made or written. */
  const owned = new Map<net.Socket, { busy: boolean }>();
  // node:http tracks its connections (idle closing, request timeouts) from its 'listening' event;
  // it never listens itself here, so it is told that its connections now come.
  opts.fallback.emit('listening');
  const keepAlive = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveMs / 1000)}\r\n\r\n`;

  const server = net.createServer((socket) => {
    const state = { busy: false };
    owned.set(socket, state);
    let pending: Buffer = NOTHING;
    /** When the first byte of the head in `pending` came (a slow head must not hold the socket). */
    let headSince = 0;

    const handOver = () => {
      owned.delete(socket);
      socket.off('data', onData);
      socket.off('timeout', onTimeout);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.setTimeout(0);
      if (pending.length > 0) socket.unshift(pending);
      opts.fallback.emit('connection', socket);
    };

    /** Drops an answered request from `pending` (not keeping the read buffer it came in once empty). */
    const consume = (bytes: number) => {
      pending = bytes === pending.length ? NOTHING : pending.subarray(bytes);
      headSince = Date.now();
    };

    const write = (chunks: readonly Buffer[], close: boolean) => {
      let length = 0;
      for (const c of chunks) length += c.length;
      socket.cork();
      socket.write(`${STATUS_AND_HEADERS}content-length: ${length}\r\nDate: ${httpDate()}\r\n${close ? 'Connection: close\r\n\r\n' : keepAlive}`, 'latin1');
      for (const c of chunks) socket.write(c);
      socket.uncork();
      if (close) socket.end();
    };

    /** Answers the complete requests in `pending`, one after another. */
    const serve = () => {
      // After a `Connection: close` answer the socket is ending: what else the client sent is not read.
      while (!state.busy && owned.has(socket) && !socket.writableEnded) {
        const end = pending.indexOf(HEAD_END);
        if (end < 0 ? pending.length > MAX_HEAD_BYTES : end > MAX_HEAD_BYTES) {
          handOver();
          return;
        }
        if (end < 0) return;
        const scrape = parseScrape(pending.toString('latin1', 0, end));
        const answer = scrape ? opts.answer(scrape.path, scrape.query) : null;
        if (!scrape || !answer) {
          handOver();
          return;
        }
        if (!('then' in answer)) {
          consume(end + 4);
          write(answer, scrape.close);
          if (scrape.close) return;
          continue;
        }
        // Not ready (a render being compressed): the request stays in `pending` until it is.
        state.busy = true;
        answer.then(
          (chunks) => {
            state.busy = false;
            if (socket.destroyed) return;
            if (!chunks) {
              handOver();
              return;
            }
            consume(end + 4);
            write(chunks, scrape.close);
            if (!scrape.close) serve();
          },
          () => {
            state.busy = false;
            if (!socket.destroyed) handOver(); // node:http answers it (with its own error page)
          },
        );
      }
    };

    const onData = (data: Buffer) => {
      if (pending.length === 0) headSince = Date.now();
      else if (!state.busy && Date.now() - headSince > opts.headersTimeoutMs) {
        socket.destroy();
        return;
      }
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      serve();
    };
    const onTimeout = () => {
      if (!state.busy) socket.destroy();
    };
    const onError = () => socket.destroy();
    const onClose = () => owned.delete(socket);
    socket.setNoDelay(true);
    socket.setTimeout(opts.keepAliveMs);
    socket.on('data', onData);
    socket.on('timeout', onTimeout);
    socket.on('error', onError);
    socket.on('close', onClose);
  });

  return {
    server,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          for (const socket of owned.keys()) socket.destroy();
          opts.fallback.closeAllConnections();
        }, graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const [socket, state] of owned) if (!state.busy) socket.destroy();
        opts.fallback.closeIdleConnections();
        opts.fallback.close();
      }),
  };
}
