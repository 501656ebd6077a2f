import autocannon from 'autocannon';
import { quantile } from './util.ts';

export interface LoadResult {
  /** Latency quantiles in ms, from every answer's own time (autocannon's summary rounds to whole ms). */
  p50: number;
  p99: number;
  /** Mean requests per second. */
  rps: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  gzip: boolean;
  connections: number;
  seconds: number;
  /** Runs once, halfway through (e.g. a poll of the exporter under load). */
  midway?: () => Promise<unknown>;
}

/** A loopback load test with autocannon; non-2xx answers count as errors. */
export async function loadTest(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let midway: Promise<unknown> = Promise.resolve();
  const timer = opts.midway ? setTimeout(() => (midway = opts.midway?.() ?? midway), (opts.seconds * 1000) / 2) : null;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: opts.url, connections: opts.connections, duration: opts.seconds, headers: opts.gzip ? { 'accept-encoding': 'gzip' } : {} },
      (err, res) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseMs) => latencies.push(responseMs));
  });
  if (timer) clearTimeout(timer);
  await midway;
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rps: result.requests.average,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}
