import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { owns, parseShard, shardOf, spreadOffsetMs } from '../../src/fleet/shard.js';

const names = Array.from({ length: 2000 }, (_, i) => `customer-${i}-pbx`);

describe('SHARD and rendezvous hashing', () => {
  it('reads i/N and StatefulSet pod names', () => {
    expect(parseShard(undefined)).toEqual({ index: 0, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard('mikopbx-exporter-1/4')).toEqual({ index: 1, count: 4 });
    for (const bad of ['3/3', 'x/2', '1', '-1/2', '0/0', 'pod/2']) expect(() => parseShard(bad), bad).toThrow(ConfigError);
  });

  it('gives every target to exactly one shard, about evenly', () => {
    for (const n of [1, 2, 3, 5, 10]) {
      const counts = new Array<number>(n).fill(0);
      for (const name of names) {
        const owners = Array.from({ length: n }, (_, i) => i).filter((i) => owns({ index: i, count: n }, name));
        expect(owners).toHaveLength(1);
        const owner = owners[0] as number;
        counts[owner] = (counts[owner] ?? 0) + 1;
      }
      for (const c of counts) expect(Math.abs(c - names.length / n)).toBeLessThan((names.length / n) * 0.2);
    }
  });

  it('moves about 1/(N+1) of the targets, all to the new shard, when a shard is added', () => {
    for (const n of [1, 2, 4, 9]) {
      const moved = names.filter((name) => shardOf(name, n) !== shardOf(name, n + 1));
      for (const name of moved) expect(shardOf(name, n + 1)).toBe(n);
      const share = moved.length / names.length;
      expect(Math.abs(share - 1 / (n + 1))).toBeLessThan(0.05);
    }
  });

  it('spreads first polls over the interval with a stable offset per target', () => {
    const offsets = names.slice(0, 600).map((n) => spreadOffsetMs(n, 30_000));
    expect(offsets.every((o) => o >= 0 && o < 30_000)).toBe(true);
    expect(spreadOffsetMs('a', 30_000)).toBe(spreadOffsetMs('a', 30_000));
    // Each tenth of the interval gets roughly a tenth of the targets: no herd at :00.
    const buckets = new Array<number>(10).fill(0);
    for (const o of offsets) {
      const b = Math.floor(o / 3000);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const b of buckets) expect(b).toBeGreaterThan(30);
  });
});
