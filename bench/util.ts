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
