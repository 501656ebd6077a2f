import { Worker } from 'node:worker_threads';

export interface LoadResult {
  /** Latency quantiles in ms, from every answer's own time. */
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

/**
 * A loopback load test (load-worker.ts), in a worker thread: the bench process also runs the
 * living simulated PBX, whose garbage collections and timers would otherwise stall the client
 * and show up as the servers' latency tails.
 */
export async function loadTest(opts: LoadOptions): Promise<LoadResult> {
  const { midway, ...options } = opts;
  const worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: options });
  let halfway: Promise<unknown> = Promise.resolve();
  const timer = midway ? setTimeout(() => (halfway = midway()), (opts.seconds * 1000) / 2) : null;
  try {
    const result = await new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited with ${code} before answering`)));
    });
    await halfway;
    return result;
  } finally {
    if (timer) clearTimeout(timer);
    await worker.terminate();
  }
}
