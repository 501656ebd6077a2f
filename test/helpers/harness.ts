import http from 'node:http';
import https from 'node:https';
import type { Config } from '../../src/config.js';
import { configSecrets } from '../../src/config.js';
import { startExporter, type Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log.js';
import { testConfig } from './fixtures.js';

/** A clock the test moves; the budget sleep advances it instead of waiting. */
export class FakeClock {
  private real = false;
  constructor(public t = Date.UTC(2026, 3, 10, 11, 0, 0)) {}
  now = (): number => (this.real ? Date.now() : this.t);
  /** From now on follow the wall clock (for tests of real timeouts and deadlines). */
  useRealTime(): void {
    this.real = true;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  sleep = async (ms: number): Promise<void> => {
    this.t += ms;
  };
}

export interface HttpAnswer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

export function httpGet(
  url: string,
  opts: { headers?: Record<string, string>; ca?: string; agent?: http.Agent; tls?: Partial<https.RequestOptions> } = {},
): Promise<HttpAnswer> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      url,
      { headers: opts.headers, ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.tls ?? {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('test client timeout')));
  });
}

export { sample } from './exposition.js';

/** All samples of counters (`*_total`, histogram `_count`/`_sum`/`_bucket`), by series. */
export function counterSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) continue;
    const name = (m[1] as string).split('{')[0] as string;
    // process_cpu_* and friends are the exporter's own; only PBX-derived counters matter here.
    if (!name.startsWith('mikopbx_')) continue;
    if (/_total$|_count$|_sum$|_bucket$/.test(name)) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

export interface Harness {
  exporter: Exporter;
  clock: FakeClock;
  config: Config;
  lines: string[];
  base: string;
  metrics(): Promise<string>;
  poll(): Promise<void>;
  close(): Promise<void>;
}

/** Every log line and page of a test file, for the secret scan at its end. */
export const seen = { lines: [] as string[], pages: [] as string[] };

export async function startHarness(overrides: Partial<Config>, clock = new FakeClock(), extra: { reloadCheckMs?: number } = {}): Promise<Harness> {
  const config = testConfig({ collectors: ['peers', 'providers', 'calls'], logLevel: 'debug', ...overrides });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: configSecrets(config),
    write: (l) => {
      lines.push(l);
      seen.lines.push(l);
    },
  });
  const exporter = await startExporter(config, logger, { now: clock.now, sleep: clock.sleep, closeGraceMs: 200, maxBodyBytes: 4 * 1024 * 1024, ...extra });
  const base = `${exporter.tls ? 'https' : 'http'}://127.0.0.1:${exporter.port}`;
  // The scheduler's first poll runs at start; let it finish so the test drives every later one.
  await exporter.target.runStatusPoll();
  return {
    exporter,
    clock,
    config,
    lines,
    base,
    async metrics() {
      const r = await httpGet(`${base}/metrics`);
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
      seen.pages.push(r.text);
      return r.text;
    },
    poll: () => exporter.target.runStatusPoll(),
    close: () => exporter.stop(),
  };
}
