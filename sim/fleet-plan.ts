// Who is who in a simulated fleet: names, seeds, API generations, states, credentials and labels,
// all derived from the options alone, so the same options always give the same fleet.

import { createHash } from 'node:crypto';
import type { ApiMode } from './types.js';

export type MemberState = 'up' | 'down' | 'hanging' | 'banned';
export const MEMBER_STATES: readonly MemberState[] = ['up', 'down', 'hanging', 'banned'];

/** member indexes (0-based), or a fraction of the fleet in [0, 1] */
export type MemberSelection = readonly number[] | number;

export interface PlanOptions {
  count: number;
  seedBase?: number;
  namePrefix?: string;
  legacyEvery?: number;
  down?: MemberSelection;
  hanging?: MemberSelection;
  banned?: MemberSelection;
}

export interface MemberLabels {
  customer: string;
  site: string;
}

export interface MemberPlan {
  index: number;
  name: string;
  seed: number;
  mode: ApiMode;
  state: MemberState;
  labels: MemberLabels;
}

const LABEL_SAFE = /^[a-z0-9-]+$/;

export function memberName(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index + 1).padStart(String(count).length, '0')}`;
}

/**
 * A fraction f picks round(f × count) members among those still up, spaced evenly (centred
 * strides), in the order down, hanging, banned; a list names them. A member in two lists is an error.
 */
export function assignStates(count: number, sel: Pick<PlanOptions, 'down' | 'hanging' | 'banned'>): MemberState[] {
  const states: MemberState[] = Array.from({ length: count }, () => 'up');
  for (const state of ['down', 'hanging', 'banned'] as const) {
    const s = sel[state];
    if (s === undefined) continue;
    let picked: number[];
    if (typeof s === 'number') {
      if (!(s >= 0 && s <= 1)) throw new Error(`${state}: a fraction must be in [0, 1] (or pass a list of member indexes), got ${s}`);
      const pool = states.flatMap((st, i) => (st === 'up' ? [i] : []));
      const n = Math.round(s * count);
      if (n > pool.length) throw new Error(`${state}: ${n} members asked for, only ${pool.length} left up`);
      picked = Array.from({ length: n }, (_, j) => pool[Math.floor(((j + 0.5) * pool.length) / n)] as number);
    } else {
      picked = [...s];
      for (const i of picked) {
        if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`${state}: no member index ${i} in a fleet of ${count}`);
        if (states[i] !== 'up') throw new Error(`member ${i} is both ${states[i]} and ${state}`);
      }
    }
    for (const i of picked) states[i] = state;
  }
  return states;
}

// Neutral words, so label values look like customers without naming real companies.
const CUSTOMERS = ['alder', 'birch', 'cedar', 'elm', 'fir', 'hazel', 'juniper', 'larch', 'maple', 'oak', 'pine', 'rowan', 'spruce', 'willow', 'yew'];
const SITES = ['hq', 'branch-1', 'branch-2', 'branch-3'];

/** four PBXs per customer (hq and three branches); names repeat with a suffix past the word list */
export function labelsFor(index: number): MemberLabels {
  const k = Math.floor(index / SITES.length);
  const round = Math.floor(k / CUSTOMERS.length);
  return { customer: `${CUSTOMERS[k % CUSTOMERS.length] as string}${round > 0 ? `-${round + 1}` : ''}`, site: SITES[index % SITES.length] as string };
}

function digest(kind: string, seed: number): Buffer {
  return createHash('sha256').update(`mikopbx-sim-fleet/${kind}/${seed}`).digest();
}

/** a member's own v3 key: 64 hex digits like a real MikoPBX API key, derived from its seed */
export function derivedApiKey(seed: number): string {
  return digest('api-key', seed).toString('hex');
}

/** a member's own admin password, derived from its seed */
export function derivedPassword(seed: number): string {
  return `Sim-${digest('password', seed).toString('base64url').slice(0, 16)}`;
}

export function planFleet(opts: PlanOptions): MemberPlan[] {
  const { count } = opts;
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`count must be a positive integer, got ${count}`);
  const prefix = opts.namePrefix ?? 'pbx';
  if (!LABEL_SAFE.test(prefix)) throw new Error(`namePrefix must match [a-z0-9-]+, got ${JSON.stringify(prefix)}`);
  const every = opts.legacyEvery ?? 0;
  if (!(Number.isInteger(every) && every >= 0)) throw new Error(`legacyEvery must be a non-negative integer, got ${every}`);
  const seedBase = opts.seedBase ?? 1;
  const states = assignStates(count, opts);
  return states.map((state, index) => ({
    index,
    name: memberName(prefix, index, count),
    seed: seedBase + index,
    // every k-th: members k, 2k, … counting from 1 (legacyEvery 1 = all legacy)
    mode: every > 0 && (index + 1) % every === 0 ? 'legacy' : 'v3',
    state,
    labels: labelsFor(index),
  }));
}
