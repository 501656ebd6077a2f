/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { afterEach } from 'vitest';
import { startSimulator, DEFAULT_API_KEY } from '../../sim/index.js';
import type { Simulator, SimulatorOptions } from '../../sim/index.js';

export const AUTH = { Authorization: `Bearer ${DEFAULT_API_KEY}` };

/** fixed PBX clock: 2026-04-10 11:22:31.250 UTC = 14:22:31.250 at +03:00 */
export const T0 = Date.UTC(2026, 3, 10, 11, 22, 31, 250);

export interface ManualClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(start = T0): ManualClock {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

export async function withSim(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ rateLimit: false, ...opts });
}

/** A simulator starter for a test file: every simulator it started is closed after each test. */
export function simsClosedAfterEach(): (opts?: SimulatorOptions) => Promise<Simulator> {
  const sims: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  return async (opts = {}) => {
    const s = await withSim(opts);
    sims.push(s);
    return s;
  };
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export async function getJson<T = any>(sim: Simulator, path: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(sim.url + path, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string> | undefined) } });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: leave undefined
  }
  return { status: res.status, headers: res.headers, text, json: json as T };
}

export async function getRaw(sim: Simulator, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(sim.url + path, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}
