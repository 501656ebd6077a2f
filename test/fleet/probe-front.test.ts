import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { loadFleetSettings, type FleetSettings } from '../../src/config.js';
import { startFleetExporter, type FleetExporter } from '../../src/fleet/fleet-exporter.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../helpers/exporter-process.js';
import { httpGet, sample } from '../helpers/harness.js';

// Fleet mode without WEB_CONFIG_FILE: a worker thread owns the port and answers Prometheus'
// gzip probes from the renders the main thread posts; everything else goes on to the main thread.

const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });

let dir: string;
let file: string;
let sims: Simulator[] = [];
let settings: FleetSettings;
let exporter: FleetExporter;

const target = (name: string, i: number) => ({
  name,
  url: sims[i]?.url,
  auth: `key-${i}`,
  poll_interval_seconds: 2,
  collectors: ['peers', 'providers', 'calls'],
});
const modules = () => Object.fromEntries(sims.map((_, i) => [`key-${i}`, { api_key_file: join(dir, `${i}.key`) }]));
const url = (path: string) => `http://127.0.0.1:${exporter.port}${path}`;
const GZIP = { 'accept-encoding': 'gzip' };

/** A gzip GET, body kept as bytes. */
function getGzip(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url(path), { headers: GZIP }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

const upViaFront = async (name: string) => {
  const r = await getGzip(`/probe?target=${name}`);
  return r.status === 200 && r.headers['content-encoding'] === 'gzip' && sample(zlib.gunzipSync(r.body).toString(), 'mikopbx_up') === 1;
};

/**
 * Sends one request from another thread while this one is blocked in Atomics.wait: 'ok' when the
 * answer came within waitMs (so nothing on this thread was needed to give it), else 'timed-out'.
 */
function requestWhileBlocked(path: string, headers: Record<string, string>, waitMs: number): { wait: string; worker: Worker; status: Int32Array } {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(
    `const http = require('node:http');
     const { workerData } = require('node:worker_threads');
     const flag = workerData.shared;
     http.get(workerData.url, { headers: workerData.headers }, (res) => {
       res.resume();
       res.on('end', () => { Atomics.store(flag, 1, res.statusCode); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); });
     }).on('error', () => { Atomics.store(flag, 0, 2); Atomics.notify(flag, 0); });`,
    { eval: true, workerData: { shared, url: url(path), headers } },
  );
  // Blocks this thread (the exporter's main thread: the test runs in it) until the answer.
  const wait = Atomics.wait(shared, 0, 0, waitMs);
  return { wait, worker, status: shared };
}

describe('fleet mode: the scrape front in a worker thread', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'front-'));
    file = join(dir, 'targets.yaml');
    sims = await Promise.all([11, 12, 13].map((seed, i) => startSimulator({ seed, apiKey: String(i + 1).repeat(64), living: false })));
    sims.forEach((_, i) => writeFileSync(join(dir, `${i}.key`), String(i + 1).repeat(64)));
    writeFileSync(file, stringify({ auth_modules: modules(), targets: [target('alpha', 0), target('bravo', 1)] }));
    const loaded = loadFleetSettings({ TARGETS_FILE: file, LISTEN_PORT: '0', LISTEN_ADDRESS: '127.0.0.1' });
    if (!loaded) throw new Error('fleet settings expected');
    settings = loaded;
    exporter = await startFleetExporter(settings, logger, { reloadCheckMs: 200 });
    for (const name of ['alpha', 'bravo']) await waitFor(() => upViaFront(name), 15_000);
  });

  afterAll(async () => {
    await exporter?.stop();
    await Promise.all(sims.map((s) => s.close()));
  });

  it('listens on the public port in front of the routes, which listen on loopback only', () => {
    expect(exporter.front).not.toBeNull();
    expect(exporter.port).toBe(exporter.front?.port);
    const routes = exporter.server.address();
    expect(typeof routes === 'object' && routes ? [routes.address, routes.port === exporter.port] : null).toEqual(['127.0.0.1', false]);
    expect(lines.some((l) => /"probes":"worker thread".*listening \(fleet mode\)/.test(l))).toBe(true);
  });

  it('answers a gzip probe while the main thread is blocked, with the target’s own compressed render', async () => {
    const { wait, worker, status } = requestWhileBlocked('/probe?target=alpha', GZIP, 10_000);
    await worker.terminate();
    expect(wait).toBe('ok');
    expect(Atomics.load(status, 1)).toBe(200);

    const r = await getGzip('/probe?target=alpha');
    const current = exporter.fleet.get('alpha')?.target.exposition();
    // Unless a render came in between, the very bytes of the target's render.
    if (current?.gzip && !current.gzip.equals(r.body)) expect(zlib.gunzipSync(r.body).toString()).toMatch(/^mikopbx_up 1$/m);
    else expect(r.body.equals(current?.gzip as Buffer)).toBe(true);
    expect(r.headers).toMatchObject({
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-encoding': 'gzip',
      'cache-control': 'no-store',
      vary: 'accept-encoding',
      'content-length': String(r.body.length),
    });
  });

  it('passes what it cannot answer to the main thread, which a blocked main thread then holds up', async () => {
    const { wait, worker } = requestWhileBlocked('/targets', {}, 500);
    expect(wait).toBe('timed-out');
    await worker.terminate();
    // …and unchanged once it can: http_sd keeps the scraper's Host header, errors and methods as they were.
    const sd = JSON.parse((await httpGet(url('/targets'))).text) as { targets: string[]; labels: Record<string, string> }[];
    expect(sd.map((g) => [g.targets[0], g.labels.__param_target])).toEqual([
      [`127.0.0.1:${exporter.port}`, 'alpha'],
      [`127.0.0.1:${exporter.port}`, 'bravo'],
    ]);
    expect(await httpGet(url('/probe?target=nope'), { headers: GZIP })).toMatchObject({ status: 404, text: expect.stringMatching(/unknown target/) });
    expect((await httpGet(url('/probe'))).status).toBe(400);
    expect((await httpGet(url('/'))).text).toContain('alpha');
    expect(sample((await httpGet(url('/metrics'))).text, 'mikopbx_exporter_targets{state="up"}')).toBe(2);
    const plain = await httpGet(url('/probe?target=bravo'));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(sample(plain.text, 'mikopbx_up')).toBe(1);
    const post = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(url('/probe?target=alpha'), { method: 'POST', headers: GZIP }, (res) => {
        res.resume();
        resolve(res);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect([post.statusCode, post.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('follows reloads: a removed target is no longer answered, an added one is once polled', async () => {
    writeFileSync(file, stringify({ auth_modules: modules(), targets: [target('alpha', 0), target('charlie', 2)] }));
    exporter.reload('test');
    expect((await getGzip('/probe?target=bravo')).status).toBe(404);
    await waitFor(() => upViaFront('charlie'), 15_000);
  });

  it('starts its thread again on the same port when it dies, with every target’s last render', async () => {
    const port = exporter.port;
    await (exporter.front as unknown as { worker: Worker }).worker.terminate();
    await waitFor(() => upViaFront('alpha'), 15_000); // the front back
    expect(exporter.port).toBe(port);
    expect(await upViaFront('charlie')).toBe(true);
    expect(lines.some((l) => /scrape front: the worker thread stopped/.test(l))).toBe(true);
    expect(lines.some((l) => /scrape front: listening again/.test(l))).toBe(true);
  });

  it('refuses to start on a port in use, with the error code main.ts explains', async () => {
    const taken = { ...settings, defaults: { ...settings.defaults, listenPort: exporter.port } };
    await expect(startFleetExporter(taken, logger)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
