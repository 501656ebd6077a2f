import { describe, expect, it } from 'vitest';
import { describeStretch, planSchedule, requestsPerStatusPoll, runsPerMinute, SPARE_REQUESTS } from '../../src/schedule-plan.js';
import type { CollectorName } from '../../src/config.js';

const ALL: CollectorName[] = ['peers', 'providers', 'calls', 'cdr'];
const STATUS: CollectorName[] = ['peers', 'providers', 'calls'];
const cfg = (
  over: Partial<{ collectors: CollectorName[]; pollIntervalSeconds: number; cdrPollIntervalSeconds: number; maxRequestsPerMinute: number }> = {},
) => ({
  collectors: ALL,
  pollIntervalSeconds: 30,
  cdrPollIntervalSeconds: 60,
  maxRequestsPerMinute: 60,
  ...over,
});

describe('schedule plan (the status interval stretched to fit the request budget)', () => {
  it('counts the runs a 60 s window can hold, one more than 60 / interval (a run may start early)', () => {
    expect(runsPerMinute(1)).toBe(61);
    expect(runsPerMinute(2)).toBe(31);
    expect(runsPerMinute(7)).toBe(9);
    expect(runsPerMinute(60)).toBe(2);
    expect(runsPerMinute(61)).toBe(1);
  });

  it('knows the requests of a status poll by generation, and takes the costlier one while unknown', () => {
    expect(requestsPerStatusPoll(STATUS, 'v3')).toBe(3);
    expect(requestsPerStatusPoll(STATUS, 'legacy')).toBe(4);
    expect(requestsPerStatusPoll(STATUS, null)).toBe(4);
    expect(requestsPerStatusPoll(['peers', 'cdr'], 'legacy')).toBe(1);
    expect(requestsPerStatusPoll(['providers'], 'legacy')).toBe(2);
    expect(requestsPerStatusPoll(['cdr'], null)).toBe(0);
  });

  it('leaves a schedule that fits as it is (the defaults)', () => {
    for (const g of ['v3', 'legacy', null] as const) {
      const plan = planSchedule(cfg(), g);
      expect(plan).toMatchObject({ statusIntervalSeconds: 30, cdrIntervalSeconds: 60, stretched: false, fits: true });
      expect(describeStretch(cfg(), plan)).toBeNull();
    }
  });

  it('legacy at 2 s with 60/min: 5 s, the shortest interval whose polls fit', () => {
    const config = cfg({ pollIntervalSeconds: 2 });
    const plan = planSchedule(config, 'legacy');
    expect(plan).toMatchObject({ statusIntervalSeconds: 5, cdrIntervalSeconds: 60, requestsPerStatusPoll: 4, stretched: true, fits: true });
    // 5 s: 13 polls × 4 + 2 spare = 54 ≤ 60; 4 s would be 16 × 4 + 2 = 66.
    expect(plan.statusRequestsPerMinute + SPARE_REQUESTS).toBeLessThanOrEqual(60);
    expect(runsPerMinute(4) * 4 + SPARE_REQUESTS).toBeGreaterThan(60);
    expect(plan.configuredRequestsPerMinute).toBe(31 * 4 + SPARE_REQUESTS);
    const line = describeStretch(config, plan);
    expect(line).toContain('POLL_INTERVAL_SECONDS=2');
    expect(line).toContain('MIKOPBX_MAX_REQUESTS_PER_MINUTE=60');
    expect(line).toContain('polling status every 5 s instead');
    expect(line).toContain('set POLL_INTERVAL_SECONDS=5 or more');
    expect(line).toContain(`raise MIKOPBX_MAX_REQUESTS_PER_MINUTE to ${31 * 4 + SPARE_REQUESTS}`);
    expect(line).toContain('legacy PBX');
  });

  it('v3 at 1 s with 60/min: 4 s, counting the cdr polls beside the status polls', () => {
    const plan = planSchedule(cfg({ pollIntervalSeconds: 1 }), 'v3');
    // 4 s: 16 × 3 + 2 cdr + 2 spare = 52; 3 s: 21 × 3 + 4 = 67.
    expect(plan).toMatchObject({ statusIntervalSeconds: 4, cdrIntervalSeconds: 60, statusRequestsPerMinute: 48, cdrRequestsPerMinute: 2 });
    // Without the cdr collector one request more per minute is free, not enough for 3 s.
    expect(planSchedule(cfg({ pollIntervalSeconds: 1, collectors: STATUS }), 'v3').statusIntervalSeconds).toBe(4);
  });

  it('legacy has no cdr polls to plan for; unknown generation plans for them and for 4 requests a poll', () => {
    expect(planSchedule(cfg({ pollIntervalSeconds: 1, cdrPollIntervalSeconds: 1 }), 'legacy')).toMatchObject({
      cdrRequestsPerMinute: 0,
      statusIntervalSeconds: 5,
      cdrIntervalSeconds: 1,
    });
    const unknown = planSchedule(cfg({ pollIntervalSeconds: 1 }), null);
    expect(unknown.statusIntervalSeconds).toBe(5); // 13 × 4 + 2 + 2 = 56
    expect(describeStretch(cfg({ pollIntervalSeconds: 1 }), unknown)).toContain('until the API generation is detected');
  });

  it('stretches the cdr interval only where no status interval fits beside it', () => {
    const config = cfg({ pollIntervalSeconds: 30, cdrPollIntervalSeconds: 1, maxRequestsPerMinute: 20 });
    const plan = planSchedule(config, 'v3');
    // Status at 30 s needs 9; cdr at 1 s 61: no status interval fits beside that, so both stretch:
    // the shortest status interval first, then the shortest cdr interval beside it.
    expect(plan.fits).toBe(true);
    expect(plan.statusIntervalSeconds).toBe(30);
    expect(plan.statusRequestsPerMinute + plan.cdrRequestsPerMinute + SPARE_REQUESTS).toBeLessThanOrEqual(20);
    expect(plan.cdrIntervalSeconds).toBe(7); // 9 + 9 + 2 = 20; 6 s would be 11 + 11
    const line = describeStretch(config, plan);
    expect(line).toContain('CDR_POLL_INTERVAL_SECONDS=1');
    expect(line).toContain('cdr every 7 s');
    expect(line).toContain('CDR_POLL_INTERVAL_SECONDS=7');
  });

  it('a budget too small for any schedule: the longest useful intervals, and a line that says so', () => {
    const config = cfg({ maxRequestsPerMinute: 4 });
    const plan = planSchedule(config, 'legacy');
    expect(plan.fits).toBe(false);
    expect(plan.statusIntervalSeconds).toBe(61);
    expect(describeStretch(config, plan)).toMatch(/no longer interval fits.*mikopbx_collector_skipped_total/);
  });

  it('an interval already longer than a minute is never shortened', () => {
    expect(planSchedule(cfg({ pollIntervalSeconds: 600, cdrPollIntervalSeconds: 900 }), 'v3')).toMatchObject({
      statusIntervalSeconds: 600,
      cdrIntervalSeconds: 900,
      stretched: false,
    });
  });

  it('property: the plan fits whenever anything fits, and no shorter status interval would', () => {
    for (const generation of ['v3', 'legacy', null] as const) {
      for (let budget = 6; budget <= 200; budget += 7) {
        for (const poll of [1, 2, 3, 5, 10, 15, 30]) {
          const config = cfg({ pollIntervalSeconds: poll, maxRequestsPerMinute: budget });
          const plan = planSchedule(config, generation);
          if (!plan.fits) continue;
          expect(plan.statusRequestsPerMinute + plan.cdrRequestsPerMinute + SPARE_REQUESTS).toBeLessThanOrEqual(budget);
          expect(plan.statusIntervalSeconds).toBeGreaterThanOrEqual(poll);
          if (plan.statusIntervalSeconds > poll && plan.cdrIntervalSeconds === 60) {
            const shorter = planSchedule({ ...config, pollIntervalSeconds: plan.statusIntervalSeconds - 1, maxRequestsPerMinute: budget }, generation);
            expect(shorter.statusIntervalSeconds).toBe(plan.statusIntervalSeconds);
          }
        }
      }
    }
  });
});
