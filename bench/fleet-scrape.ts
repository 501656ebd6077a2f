// What bench/fleet.ts reads from the exporter: /metrics samples and histograms, a Prometheus-like
// scraper of every /probe, and one pass over all probes (mikopbx_up, requests sent).
import http from 'node:http';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of `name` (exact metric name, e.g. a histogram's `_bucket`) in an exposition. */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = LINE.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string;
    out.push({ name, labels, value: Number(m[3]) });
  }
  return out;
}

export const sampleValue = (text: string, name: string, labels: Record<string, string> = {}): number =>
  samples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? NaN;

/** Cumulative bucket counts of one histogram series, by upper bound (+Inf included). */
export type Buckets = Map<number, number>;

export function buckets(text: string, name: string, labels: Record<string, string> = {}): Buckets {
  const out: Buckets = new Map();
  for (const s of samples(text, `${name}_bucket`)) {
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** What was observed between two readings of the same histogram. */
export function bucketDelta(after: Buckets, before: Buckets): Buckets {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/** The smallest bucket bound holding the q-quantile (Infinity: above the last bound; NaN: nothing observed). */
export function quantileBound(b: Buckets, q: number): { bound: number; count: number } {
  const sorted = [...b].sort((x, y) => x[0] - y[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count === 0) return { bound: NaN, count };
  const hit = sorted.find(([, n]) => n >= q * count);
  return { bound: hit?.[0] ?? Infinity, count };
}

export interface GetResult {
  ms: number;
  status: number;
  bytes: number;
  body: Buffer;
}

export function get(agent: http.Agent, url: string, gzip: boolean): Promise<GetResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes: body.length, body });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Scrapes every target's /probe once per interval, the targets spread evenly over it, as one
 * Prometheus with one scrape pool would: keep-alive, gzip asked for, the whole body read (not
 * decoded). Latency is from the request to the last byte.
 */
export class ProbeScraper {
  latencies: number[] = [];
  /** of the scrapes sent in the first 300 ms of a wall-clock second, when the exporter's scheduler ticks */
  onTick: number[] = [];
  offTick: number[] = [];
  errors = 0;
  bytes = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly base: string;
  private readonly names: readonly string[];
  private readonly intervalMs: number;

  constructor(base: string, names: readonly string[], intervalMs: number) {
    this.base = base;
    this.names = names;
    this.intervalMs = intervalMs;
  }

  start(): void {
    const t0 = performance.now();
    this.names.forEach((name, i) => this.schedule(name, t0 + (i * this.intervalMs) / this.names.length));
  }

  /** Forgets what was recorded so far (the warm-up). */
  reset(): void {
    this.latencies = [];
    this.onTick = [];
    this.offTick = [];
    this.errors = 0;
    this.bytes = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.inFlight);
    this.agent.destroy();
  }

  // due times stay on the grid, whatever a late timer did
  private schedule(name: string, due: number): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (this.stopped) return;
        this.scrapeOne(name);
        this.schedule(name, due + this.intervalMs);
      },
      Math.max(0, due - performance.now()),
    );
    this.timers.add(t);
  }

  private scrapeOne(name: string): void {
    const sentAt = Date.now() % 1000;
    const p = get(this.agent, `${this.base}/probe?target=${encodeURIComponent(name)}`, true).then(
      (r) => {
        if (r.status !== 200) this.errors++;
        else {
          this.latencies.push(r.ms);
          (sentAt < 300 ? this.onTick : this.offTick).push(r.ms);
          this.bytes += r.bytes;
        }
      },
      () => void this.errors++,
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}

export interface ProbePass {
  up: number;
  /** mikopbx_api_requests_total over all targets, and those not answered 2xx */
  requests: number;
  failedRequests: number;
  /** gzip-less bytes of one probe, and its series, mean */
  plainBytes: number;
  series: number;
}

/** Every target's probe once (plain text, a few at a time): who is up, and what was sent so far. */
export async function probeAll(base: string, names: readonly string[]): Promise<ProbePass> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const out: ProbePass = { up: 0, requests: 0, failedRequests: 0, plainBytes: 0, series: 0 };
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await get(agent, `${base}/probe?target=${encodeURIComponent(name)}`, false);
      const text = r.body.toString();
      if (sampleValue(text, 'mikopbx_up') === 1) out.up++;
      for (const s of samples(text, 'mikopbx_api_requests_total')) {
        out.requests += s.value;
        if (!/^2\d\d$/.test(s.labels.code ?? '')) out.failedRequests += s.value;
      }
      out.plainBytes += r.bytes / names.length;
      out.series += text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length / names.length;
    }
  };
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    agent.destroy();
  }
  return out;
}
