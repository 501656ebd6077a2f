import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (bench/ is one level below it). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A module of the built exporter (dist/): the benchmark measures what ships, not the sources. */
export async function distModule<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(`${ROOT}dist/${path}`).href)) as T;
}

/** A module of the built simulator (dist-sim/sim/): the PBX the benchmark polls. */
export async function simModule<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(`${ROOT}dist-sim/sim/${path}`).href)) as T;
}

/**
 * The Node flags the exporter ships with (`npm start`, and the image's CMD, which a test keeps
 * equal): the benchmark measures the process as it runs in production. BENCH_NODE_FLAGS replaces them.
 */
export function shippedNodeFlags(): string[] {
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean);
  const start = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^node ((?:--\S+ )*)dist\/main\.js$/.exec(start);
  if (!m) throw new Error(`package.json scripts.start is not "node [flags] dist/main.js": ${start}`);
  return (m[1] as string).split(' ').filter(Boolean);
}

export function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
