import { describe, expect, it } from 'vitest';
import { FakeClock, sample, seen, type startHarness } from '../helpers/harness.js';
import { SIM_API_KEY, V3_PATHS } from '../helpers/sim.js';
import { useSimHarness } from '../helpers/sim-harness.js';
import { toolOrSkip, promtoolCheckPages } from '../helpers/tools.js';

const KEY = SIM_API_KEY;
const STATUS = ['peers', 'providers', 'calls'];

describe("fault injection: the exporter never makes the PBX's trouble worse", () => {
  const env = useSimHarness();

  async function setup(overrides: Parameters<typeof startHarness>[0] = {}) {
    const clock = new FakeClock();
    const sim = await env.sim(clock);
    const h = await env.harness({ url: sim.url, apiKey: KEY, timeoutSeconds: 0.5, ...overrides }, clock);
    return { sim, h, clock };
  }

  it('HTTP 429: nothing is sent until the ban is surely over (5 min, then 10 min on a repeat), and the metrics say so', async () => {
    const { sim, h, clock } = await setup();
    const interval = h.config.pollIntervalSeconds * 1000;
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);

    for (const [offence, banMs] of [
      [1, 300_000],
      [2, 600_000],
    ] as const) {
      const sentBefore = sim.requests.length;
      sim.faults.set({ kind: 'status-429', paths: [V3_PATHS.providers], count: 1 });
      const tripAt = clock.now();
      const banEnd = tripAt + banMs; // what the simulator's nginx limiter does
      await h.poll();
      // The 429 itself, then nothing else in the same poll.
      expect(sim.requests.length).toBe(sentBefore + 1);
      expect(sim.requests.at(-1)?.status).toBe(429);
      const pauseS = banMs / 1000 + 5 * offence;
      expect(
        h.lines.some((l) => l.includes('"reason":"rate-limited"') && l.includes(`sending nothing for ${pauseS} s`)),
        `offence ${offence}`,
      ).toBe(true);

      // Poll on schedule through the whole ban: every poll fails without a request.
      let polls = 0;
      while (clock.now() + interval < banEnd) {
        clock.advance(interval);
        await h.poll();
        polls += 1;
        const text = await h.metrics();
        expect(sample(text, 'mikopbx_up')).toBe(0);
        for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(0);
        expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="rate_limited"}')).toBe((tripAt + pauseS * 1000) / 1000);
      }
      expect(polls).toBeGreaterThanOrEqual(banMs / interval - 1);
      expect(sim.requests.filter((r) => r.time > tripAt && r.time < banEnd)).toEqual([]);
      expect(sim.stats.rateLimited).toBe(offence);

      // First poll after the ban (plus margin): requests again, and everything recovers.
      while (clock.now() < tripAt + pauseS * 1000) clock.advance(interval);
      await h.poll();
      const text = await h.metrics();
      expect(sample(text, 'mikopbx_up')).toBe(1);
      for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(1);
      expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="rate_limited"}')).toBe(0);
      // Not one request hit the still-banned IP.
      expect(sim.stats.rateLimited).toBe(offence);
      clock.advance(interval);
    }
  });

  it('HTTP 429 with Retry-After longer than the policy: the longer one wins', async () => {
    const { Backoff } = await import('../../src/api/backoff.js');
    let t = 0;
    const b = new Backoff(() => t);
    expect(b.trip('rate_limited', 900_000)).toBe(900_000);
    t += 900_000;
    expect(b.active()).toBeNull();
    // The doubling follows nginx's ladder (305 → 610 s), not the header.
    expect(b.trip('rate_limited')).toBe(610_000);
  });

  for (const kind of ['status-503', 'worker-timeout-400'] as const) {
    it(`${kind}: backs off instead of retrying at once, and recovers at the next poll`, async () => {
      const { sim, h, clock } = await setup();
      const sentBefore = sim.requests.length;
      sim.faults.set({ kind, paths: [V3_PATHS.providers], count: 1 });
      await h.poll();
      // One request, then nothing more in this poll: no retry, no piling onto the queue.
      expect(sim.requests.length).toBe(sentBefore + 1);
      const text = await h.metrics();
      expect(sample(text, 'mikopbx_up')).toBe(0);
      for (const c of STATUS) expect(sample(text, `mikopbx_collector_success{collector="${c}"}`)).toBe(0);
      expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="overloaded"}')).toBe((clock.now() + 15_000) / 1000);
      // An overload is no ban.
      expect(sample(text, 'mikopbx_api_backoff_until_timestamp_seconds{reason="rate_limited"}')).toBe(0);
      expect(h.lines.some((l) => l.includes('"reason":"overloaded"'))).toBe(true);

      clock.advance(h.config.pollIntervalSeconds * 1000);
      await h.poll();
      const after = await h.metrics();
      expect(sample(after, 'mikopbx_up')).toBe(1);
      expect(sample(after, 'mikopbx_api_backoff_until_timestamp_seconds{reason="overloaded"}')).toBe(0);
    });
  }

  it('repeated overloads double the pause (15, 30, 60 s) and a clean answer resets it', async () => {
    const { sim, h, clock } = await setup();
    const pauses: number[] = [];
    for (let i = 0; i < 3; i++) {
      sim.faults.set({ kind: 'status-503', paths: [V3_PATHS.providers], count: 1 });
      const sentBefore = sim.requests.length;
      await h.poll();
      expect(sim.requests.length).toBe(sentBefore + 1);
      const until = sample(await h.metrics(), 'mikopbx_api_backoff_until_timestamp_seconds{reason="overloaded"}') as number;
      pauses.push(until * 1000 - clock.now());
      clock.advance(until * 1000 - clock.now());
    }
    expect(pauses).toEqual([15_000, 30_000, 60_000]);
    await h.poll();
    expect(sample(await h.metrics(), 'mikopbx_up')).toBe(1);
    clock.advance(1000);
    sim.faults.set({ kind: 'status-503', paths: [V3_PATHS.providers], count: 1 });
    await h.poll();
    const until = sample(await h.metrics(), 'mikopbx_api_backoff_until_timestamp_seconds{reason="overloaded"}') as number;
    expect(until * 1000 - clock.now()).toBe(15_000);
  });

  it('the request budget holds over a long accelerated run (1 h of 5 s polls at a 10/min budget)', async () => {
    const budget = 10;
    const { sim, h, clock } = await setup({ maxRequestsPerMinute: budget, pollIntervalSeconds: 5, timeoutSeconds: 2 });
    const start = clock.now();
    let okPolls = 0;
    while (clock.now() - start < 3600_000) {
      clock.advance(5000);
      // Extra triggers (a backlog after a pause) must not break the budget either.
      await Promise.all([h.poll(), h.poll()]);
      if (sample(h.exporter.target.metricsText(), 'mikopbx_up') === 1) okPolls += 1;
    }
    const times = sim.requests.map((r) => r.time).sort((a, b) => a - b);
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] as number) - (times[j] as number) >= 60_000) j += 1;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    expect(maxInWindow).toBeLessThanOrEqual(budget);
    // The budget is used, not wasted: close to 10 requests a minute over the hour.
    expect(times.length).toBeGreaterThan(budget * 60 * 0.9);
    expect(okPolls).toBeGreaterThan(60);
    expect(sim.stats.rateLimited).toBe(0);
    const text = await h.metrics();
    expect(sample(text, 'mikopbx_api_request_budget_remaining')).toBeGreaterThanOrEqual(0);
    expect(h.lines.some((l) => l.includes('"reason":"budget"') && l.includes('MIKOPBX_MAX_REQUESTS_PER_MINUTE'))).toBe(true);
  });

  it("at the default budget, 1 s polls for 5 min never trip the PBX's rate limiter", async () => {
    const { sim, h, clock } = await setup({ pollIntervalSeconds: 1, timeoutSeconds: 2 });
    const start = clock.now();
    while (clock.now() - start < 300_000) {
      clock.advance(1000);
      await h.poll();
    }
    expect(sim.stats.rateLimited).toBe(0);
    expect(sim.requests.length).toBeGreaterThan(280);
  });

  it('a slow PBX cannot stretch a poll past its interval', async () => {
    const { sim, h } = await setup({ pollIntervalSeconds: 1, timeoutSeconds: 0.6 });
    sim.faults.set({ kind: 'hang' });
    // Real time here: the deadline is one interval (1 s), so the third request is never sent.
    h.clock.useRealTime();
    const sentBefore = sim.requests.length;
    const t0 = performance.now();
    await h.poll();
    const took = performance.now() - t0;
    expect(took).toBeLessThan(1500);
    expect(sim.requests.length - sentBefore).toBeLessThanOrEqual(2);
    // Either the deadline or the first timeout (which skips the rest of the poll) ended it.
    expect(h.lines.some((l) => l.includes('"reason":"deadline"') || l.includes('"reason":"skipped"'))).toBe(true);
  });

  const promtool = toolOrSkip('promtool');
  it.skipIf(!promtool)('promtool check metrics: the pages scraped during bans and backoffs are valid', () => {
    expect(seen.pages.length).toBeGreaterThan(5);
    expect(promtoolCheckPages(promtool as string, seen.pages)).toEqual([]);
  });

  it('no API key in any log line or page', () => {
    for (const out of [...seen.lines, ...seen.pages]) expect(out).not.toContain(KEY);
  });
});
