import { describe, expect, it } from 'vitest';
import { Scheduler, type Job } from '../../src/scheduler.js';

describe('fleet jobs on the scheduler grid', () => {
  it('start at their offset, stay on offset + k × interval, and report lateness and overruns', async () => {
    let t = 1_000_000;
    const late: number[] = [];
    const overruns: string[] = [];
    const starts: number[] = [];
    let release: (() => void) | null = null;
    const job: Job = {
      name: 'status',
      intervalSeconds: 10,
      offsetMs: 3000,
      run: () => {
        starts.push(t);
        return release ? Promise.resolve() : new Promise<void>((r) => (release = r));
      },
    };
    const s = new Scheduler(
      [],
      () => undefined,
      () => t,
      { onStart: (_j, ms) => late.push(ms), onOverrun: (j) => overruns.push(j.name) },
    );
    s.add([job]);
    await s.tick();
    expect(starts).toEqual([]); // not due before its offset
    t += 3000;
    const first = s.tick();
    expect(starts).toEqual([1_003_000]);
    expect(s.running).toBe(1);
    t += 10_250; // due again while the first run still hangs: that slot is skipped
    void s.tick();
    expect(overruns).toEqual(['status']);
    (release as unknown as () => void)();
    await first;
    release = () => undefined;
    t = 1_023_400; // the next slot (1_023_000), 400 ms late
    await s.tick();
    expect(starts).toEqual([1_003_000, 1_023_400]);
    expect(late).toEqual([0, 400]);
    s.remove([job]);
    t += 60_000;
    await s.tick();
    expect(starts).toHaveLength(2);
  });
});

describe('precise fleet scheduling', () => {
  it('starts each fleet job at its due millisecond, not at the next whole-second tick', async () => {
    const starts: { name: string; late: number; at: number }[] = [];
    const t0 = Date.now();
    const job = (name: string, offsetMs: number): Job => ({ name, intervalSeconds: 30, offsetMs, run: async () => undefined });
    const s = new Scheduler([], () => undefined, Date.now, { precise: true, onStart: (j, late) => starts.push({ name: j.name, late, at: Date.now() - t0 }) });
    s.add([job('a', 150), job('b', 450), job('c', 5000)]);
    await s.tick(); // one tick arms the jobs due before the next one
    await new Promise((r) => setTimeout(r, 700));
    expect(starts.map((x) => x.name)).toEqual(['a', 'b']);
    for (const x of starts) expect(x.late).toBeLessThan(100);
    expect(starts[1]?.at ?? 0).toBeGreaterThanOrEqual(400);
    // A removed job's armed timer does not fire.
    const d = job('d', 100);
    s.add([d]);
    await s.tick();
    s.remove([d]);
    await new Promise((r) => setTimeout(r, 250));
    expect(starts.map((x) => x.name)).not.toContain('d');
    await s.stop();
  });
});
