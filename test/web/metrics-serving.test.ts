import http from 'node:http';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, listen } from '../../src/http/server.js';
import { MetricsBody } from '../../src/http/metrics-body.js';
import { captureLogger } from '../helpers/fixtures.js';
import { FakeClock, startHarness, type Harness } from '../helpers/harness.js';
import { SIM_API_KEY, startSim, type Simulator } from '../helpers/sim.js';
import { promtoolCheckMetrics, toolOrSkip } from '../helpers/tools.js';
import { sample } from '../helpers/exposition.js';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the body as raw bytes (no decompression). */
function request(url: string, opts: { method?: string; encoding?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.encoding ? { 'accept-encoding': opts.encoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/metrics: bytes rendered once per poll, gzip compressed once per render', () => {
  const clock = new FakeClock();
  let pbx: Simulator;
  let h: Harness;
  let server: http.Server;
  let url: string;
  const processRegistry = new Registry();
  const processGauge = new Gauge({ name: 'test_process_value', help: 'A process metric the test sets.', registers: [processRegistry] });
  const handlerClock = { t: 0 };

  beforeAll(async () => {
    pbx = await startSim(clock, { extensions: 30, providers: 4, activeCalls: 3 });
    h = await startHarness({ url: pbx.url, apiKey: SIM_API_KEY }, clock);
    const { logger } = await captureLogger('silent');
    processGauge.set(1);
    // The exporter's own target, served by a handler whose process-metrics clock the test moves.
    server = http.createServer(createHandler({ target: h.exporter.target, processRegistry, logger, now: () => handlerClock.t }));
    const { port } = await listen(server, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${port}/metrics`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await h.close();
    await pbx.close();
  });

  it('the gzip answer decodes to exactly the plain answer, as one gzip member; both say Vary: Accept-Encoding', async () => {
    const plain = await request(url);
    const gz = await request(url, { encoding: 'gzip' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(plain.headers.vary).toBe('accept-encoding');
    expect(gz.headers.vary).toBe('accept-encoding');
    expect(plain.headers['content-type']).toBe(gz.headers['content-type']);
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(Number(plain.headers['content-length'])).toBe(plain.body.length);
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    // One member: a single deflate stream between the 10-byte header and the 8-byte trailer
    // holds everything, so readers that stop after the first member miss nothing.
    expect(inflateRawSync(gz.body.subarray(10, -8)).equals(plain.body)).toBe(true);
    expect(gz.body.length).toBeLessThan(plain.body.length / 4);
    const text = plain.body.toString();
    expect(text).toContain('mikopbx_sip_peer_up{extension=');
    expect(sample(text, 'test_process_value')).toBe(1);
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('promtool check metrics passes on the gzip-decoded exposition', async () => {
    const gz = await request(url, { encoding: 'gzip' });
    const r = promtoolCheckMetrics(promtool as string, gunzipSync(gz.body).toString());
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('a new render replaces both answers: gzip shows the new values at once', async () => {
    const ext = pbx.model.listExtensions()[0]?.number as string;
    const series = `mikopbx_sip_peer_up{extension="${ext}"}`;
    const before = sample(gunzipSync((await request(url, { encoding: 'gzip' })).body).toString(), series);
    pbx.model.setExtensionStatus(ext, before === 1 ? 'Unavailable' : 'Available');
    clock.advance(30_000);
    await h.poll();
    const flipped = before === 1 ? 0 : 1;
    expect(sample(gunzipSync((await request(url, { encoding: 'gzip' })).body).toString(), series)).toBe(flipped);
    expect(sample((await request(url)).body.toString(), series)).toBe(flipped);
  });

  it('process metrics are rendered at most once a second and fresh after that, in both encodings', async () => {
    processGauge.set(2);
    handlerClock.t += 999;
    expect(sample((await request(url)).body.toString(), 'test_process_value')).toBe(1);
    expect(sample(gunzipSync((await request(url, { encoding: 'gzip' })).body).toString(), 'test_process_value')).toBe(1);
    handlerClock.t += 1;
    expect(sample(gunzipSync((await request(url, { encoding: 'gzip' })).body).toString(), 'test_process_value')).toBe(2);
    expect(sample((await request(url)).body.toString(), 'test_process_value')).toBe(2);
    // The exporter's own process registry (this harness has no WEB_CONFIG_FILE) has no reload gauges.
    expect(await h.exporter.processRegistry.metrics()).not.toContain('mikopbx_exporter_web_config_');
  });

  it('HEAD answers with the headers GET would send and no body', async () => {
    for (const encoding of [undefined, 'gzip']) {
      const get = await request(url, encoding ? { encoding } : {});
      const head = await request(url, { method: 'HEAD', ...(encoding ? { encoding } : {}) });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-length']).toBe(get.headers['content-length']);
      expect(head.headers['content-encoding']).toBe(get.headers['content-encoding']);
      expect(head.headers.vary).toBe('accept-encoding');
    }
  });

  it('a client that refuses gzip (q=0) or asks for another coding gets plain text', async () => {
    for (const encoding of ['gzip;q=0', 'br', 'identity', '*;q=0']) {
      const r = await request(url, { encoding });
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.body.toString()).toContain('# TYPE mikopbx_up gauge');
    }
  });

  it('compresses the target part once per render: later gzip answers reuse the same bytes', async () => {
    const body = new MetricsBody({ exposition: () => h.exporter.target.exposition(), processRegistry, now: () => handlerClock.t });
    const first = await body.chunks(true);
    expect(first).toHaveLength(1); // one buffer: one write with the headers
    const again = await body.chunks(true);
    expect(again[0]).toBe(first[0]); // the very same Buffer, not an equal one
    expect(body.ready(true)?.[0]).toBe(first[0]); // and ready without a promise
    clock.advance(30_000);
    await h.poll();
    expect(body.ready(true)).toBeNull(); // a new render: not compressed yet
    const afterRender = await body.chunks(true);
    expect(afterRender[0]).not.toBe(first[0]);
    expect(body.ready(true)?.[0]).toBe(afterRender[0]);
    expect(gunzipSync(Buffer.concat(afterRender)).toString()).toBe(h.exporter.target.metricsText() + (await processRegistry.metrics()));
    // Plain answers are the rendered chunks themselves, not copies.
    const plain = await body.chunks(false);
    h.exporter.target.exposition().chunks.forEach((c, i) => expect(plain[i]).toBe(c));
  });

  it('once gzip was asked for, each new render is compressed ahead of the next scrape', async () => {
    const body = new MetricsBody({ exposition: () => h.exporter.target.exposition(), processRegistry, now: () => handlerClock.t });
    const pending = (): unknown => (body as unknown as { compressed: { source: unknown } | null }).compressed?.source;
    body.rendered(h.exporter.target.exposition());
    expect(pending()).toBeUndefined(); // nobody asked for gzip yet: nothing compressed for nothing
    await body.chunks(true);
    const next = h.exporter.target.exposition();
    clock.advance(30_000);
    await h.poll();
    expect(h.exporter.target.exposition()).not.toBe(next);
    body.rendered(h.exporter.target.exposition());
    expect(pending()).toBe(h.exporter.target.exposition());
  });
});
