import { createHash } from 'node:crypto';
import { ConfigError } from '../config.js';

/** Which share of the fleet this replica polls: shard `index` of `count`. */
export interface Shard {
  index: number;
  count: number;
}

export const WHOLE_FLEET: Shard = { index: 0, count: 1 };

/**
 * SHARD is `i/N`. i may be a StatefulSet pod name (`mikopbx-exporter-2`): its ordinal is the
 * index, so a chart can say `$(POD_NAME)/3` and Kubernetes gives each replica its identity.
 */
export function parseShard(raw: string | undefined): Shard {
  if (raw === undefined || raw.trim() === '') return WHOLE_FLEET;
  const m = /^\s*(?:(\d+)|.+-(\d+))\s*\/\s*(\d+)\s*$/.exec(raw);
  if (!m) throw new ConfigError('SHARD', `must be i/N (e.g. 0/3), or a StatefulSet pod name ending in -<ordinal> followed by /N; got ${raw}`);
  const index = Number(m[1] ?? m[2]);
  const count = Number(m[3]);
  if (count < 1) throw new ConfigError('SHARD', `needs at least one shard (N ≥ 1); got ${raw}`);
  if (index >= count) throw new ConfigError('SHARD', `index ${index} is not below the shard count ${count} (indexes run from 0 to ${count - 1}); got ${raw}`);
  return { index, count };
}

function score(name: string, shard: number): number {
  return createHash('sha256').update(`${shard}\0${name}`).digest().readUInt32BE(0);
}

/**
 * The shard that polls a target: rendezvous (highest-random-weight) hashing of its name. Going
 * from N to N+1 shards moves only the targets the new shard now wins, about 1/(N+1) of them, and
 * every replica computes the same answer alone: no coordinator.
 */
export function shardOf(name: string, count: number): number {
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < count; i++) {
    const s = score(name, i);
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

export function owns(shard: Shard, name: string): boolean {
  return shard.count === 1 || shardOf(name, shard.count) === shard.index;
}

/** A stable offset in [0, periodMs) for a target's first poll, so a fleet does not poll all at :00. */
export function spreadOffsetMs(name: string, periodMs: number): number {
  return periodMs <= 0 ? 0 : createHash('sha256').update(`offset\0${name}`).digest().readUInt32BE(0) % periodMs;
}
