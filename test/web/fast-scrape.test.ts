import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFastScrapeServer, parseScrape, type FastAnswer, type FastScrapeServer } from '../../src/http/fast-scrape.js';

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

const SCRAPE = 'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nUser-Agent: Prometheus/3.0\r\n\r\n';
const GZ = Buffer.from('gzip bytes of the render');

/** Sends `parts` (with a pause between them) on one connection and reads `count` answers, framed by Content-Length. */
async function exchange(port: number, parts: string[], count: number, bodiless = false): Promise<{ answers: Answer[]; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = Buffer.alloc(0);
  let closed = false;
  const answers: Answer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const parse = () => {
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
        const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
        const length = bodiless ? 0 : Number(headers.get('content-length') ?? 0);
        if (data.length < end + 4 + length) return;
        answers.push({ status: Number(statusLine.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString() });
        data = data.subarray(end + 4 + length);
        if (answers.length === count) resolve();
      }
    };
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      parse();
    });
    socket.on('close', () => {
      closed = true;
      if (answers.length < count) reject(new Error(`connection closed after ${answers.length} of ${count} answers: ${data.toString()}`));
      else resolve();
    });
    socket.on('error', () => undefined);
  });
  for (const part of parts) {
    socket.write(part);
    await new Promise((r) => setTimeout(r, 5));
  }
  await done;
  await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  return { answers, closed };
}

describe('the fast scrape path (Prometheus scrapes on the raw socket, everything else to node:http)', () => {
  let fast: FastScrapeServer | null = null;
  let fallbackRequests: string[] = [];

  afterEach(async () => {
    await fast?.close(100);
    fast = null;
    fallbackRequests = [];
  });

  async function start(answer: (path: string, query: string) => FastAnswer, keepAliveMs = 5000): Promise<number> {
    const fallback = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        fallbackRequests.push(`${req.method} ${req.url}`);
        const text = `fallback ${req.method} ${req.url}${body ? ` body=${body}` : ''}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
    });
    fallback.keepAliveTimeout = keepAliveMs;
    fast = createFastScrapeServer({ answer, fallback, keepAliveMs, headersTimeoutMs: Math.min(keepAliveMs, 1000) });
    await new Promise<void>((resolve) => fast?.server.listen(0, '127.0.0.1', resolve));
    return (fast.server.address() as net.AddressInfo).port;
  }

  const metricsOnly = (path: string): FastAnswer => (path === '/metrics' ? [GZ] : null);

  it('answers gzip scrapes itself, with node:http’s headers, on a kept-alive connection', async () => {
    const port = await start(metricsOnly);
    const { answers, closed } = await exchange(port, [SCRAPE, SCRAPE], 2);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toBe(GZ.toString());
      expect(Object.fromEntries(a.headers)).toMatchObject({
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-encoding': 'gzip',
        vary: 'accept-encoding',
        'cache-control': 'no-store',
        'content-length': String(GZ.length),
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
      });
      expect(new Date(a.headers.get('date') as string).getTime()).toBeGreaterThan(Date.now() - 5000);
    }
    expect(closed).toBe(false);
    expect(fallbackRequests).toEqual([]);
    // and Node's HTTP client, keeping its connection, reads normal answers
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 2; i++) {
      const res = await new Promise<http.IncomingMessage>((resolve) =>
        http.get({ port, path: '/metrics', agent, headers: { 'accept-encoding': 'gzip' } }, resolve),
      );
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      expect([res.statusCode, res.headers['content-encoding'], Buffer.concat(chunks).toString()]).toEqual([200, 'gzip', GZ.toString()]);
    }
    agent.destroy();
  });

  it('hands every other request to node:http, with the bytes read so far, for the rest of the connection', async () => {
    const port = await start(metricsOnly);
    const cases: [string, string][] = [
      ['GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 'fallback GET /metrics'], // plain text
      ['GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\n\r\n', 'fallback GET /metrics'],
      ['GET /other HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n', 'fallback GET /other'],
      ['GET /metrics HTTP/1.0\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n', 'fallback GET /metrics'],
      ['POST /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello', 'fallback POST /metrics body=hello'],
      // a body on a GET is framed by node:http's parser, never by this server: no request smuggled in it
      [
        `GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nContent-Length: ${SCRAPE.length}\r\n\r\n${SCRAPE}`,
        `fallback GET /metrics body=${SCRAPE}`,
      ],
      [
        'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        'fallback GET /metrics body=abc',
      ],
    ];
    for (const [request, body] of cases) {
      const { answers } = await exchange(port, [request], 1);
      expect(answers[0]?.body, request).toBe(body);
    }
    // after a handed-over request, the connection stays with node:http, scrapes included
    const { answers } = await exchange(port, [SCRAPE, 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n', SCRAPE], 3);
    expect(answers.map((a) => a.body)).toEqual([GZ.toString(), 'fallback GET /other', 'fallback GET /metrics']);
  });

  it('HEAD, malformed fields and oversized heads go to node:http, which answers or refuses them', async () => {
    const port = await start(metricsOnly);
    const head = await exchange(port, ['HEAD /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n'], 1, true);
    expect(head.answers[0]?.status).toBe(200);
    expect(fallbackRequests).toEqual(['HEAD /metrics']);
    for (const bad of [
      'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nBad Header: y\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n folded\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nX: a\u0001b\r\n\r\n',
    ]) {
      const { answers } = await exchange(port, [bad], 1);
      expect(answers[0]?.status, bad).toBe(400); // node:http's parser refuses them
    }
    // a head past 16 KiB: node:http's, which refuses it (its limit is 16 KiB too)
    for (const parts of [
      [`GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`],
      ['GET /metrics HTTP/1.1\r\n', `X: ${'a'.repeat(17_000)}`],
    ]) {
      const big = await exchange(port, parts, 1);
      expect(big.answers[0]?.status).toBe(431);
    }
    const noHost = await exchange(port, ['GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n'], 1);
    expect(noHost.answers[0]?.status).toBe(400); // node:http requires Host on HTTP/1.1, so no scrape is answered without one
    expect(parseScrape('GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip')).toEqual({ path: '/metrics', query: '', close: false });
    expect(parseScrape('GET /probe?target=a%20b HTTP/1.1\r\nhost: x\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\nConnection: Close')).toEqual({
      path: '/probe',
      query: 'target=a%20b',
      close: true,
    });
    expect(parseScrape('GET http://x/metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip')).toBeNull(); // absolute form: node:http's
  });

  it('reads heads split over many reads, and answers pipelined requests in order', async () => {
    const port = await start(metricsOnly);
    const split = await exchange(port, SCRAPE.match(/.{1,7}/gs) as string[], 1);
    expect(split.answers[0]?.body).toBe(GZ.toString());
    const pipelined = await exchange(port, [SCRAPE + SCRAPE + 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n' + SCRAPE], 4);
    expect(pipelined.answers.map((a) => a.body)).toEqual([GZ.toString(), GZ.toString(), 'fallback GET /other', 'fallback GET /metrics']);
  });

  it('waits for an answer being made, keeping later requests in order; one that turns out not to be served goes to node:http', async () => {
    const slow = (chunks: readonly Buffer[] | null) => new Promise<readonly Buffer[] | null>((resolve) => setTimeout(() => resolve(chunks), 30));
    const port = await start((path) => (path === '/slow' ? slow([Buffer.from('made')]) : path === '/vanished' ? slow(null) : metricsOnly(path)));
    const req = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n`;
    const { answers } = await exchange(port, [req('/slow') + req('/metrics') + req('/vanished') + req('/metrics')], 4);
    expect(answers.map((a) => a.body)).toEqual(['made', GZ.toString(), 'fallback GET /vanished', 'fallback GET /metrics']);
  });

  it('closes after the answer when asked (Connection: close), and closes idle connections after the keep-alive time', async () => {
    const port = await start(metricsOnly, 300);
    const asked = await exchange(port, ['GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n'], 1);
    expect(asked.answers[0]?.headers.get('connection')).toBe('close');
    expect(asked.closed).toBe(true);
    // what the client sent after it is not answered
    const pipelined = await exchange(port, ['GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n' + SCRAPE], 1);
    expect([pipelined.answers.length, pipelined.closed]).toEqual([1, true]);
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('closes a connection whose request head takes longer than the headers timeout (a slow client holds no socket)', async () => {
    const port = await start(metricsOnly, 2000); // headers timeout: 1 s
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /metrics HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 600));
    socket.write('Host: x\r\n'); // activity: the idle timer alone would not end it
    await new Promise((r) => setTimeout(r, 600));
    socket.write('Accept-Encoding: gzip\r\n');
    await closed;
    expect(socket.bytesRead).toBe(0); // closed without an answer
  });

  it('close() stops listening and closes idle connections, its own and those handed to node:http', async () => {
    const port = await start(metricsOnly);
    const own = net.connect(port, '127.0.0.1');
    const handed = net.connect(port, '127.0.0.1');
    await Promise.all([own, handed].map((s) => new Promise((resolve) => s.once('connect', resolve))));
    handed.write('GET /other HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => handed.once('data', resolve));
    const closes = [own, handed].map((s) => new Promise((resolve) => s.once('close', resolve)));
    const started = Date.now();
    await fast?.close(5000);
    fast = null;
    await Promise.all(closes);
    expect(Date.now() - started).toBeLessThan(2000); // idle ones at once, not after the grace period
    await expect(exchange(port, [SCRAPE], 1)).rejects.toThrow();
  });
});
