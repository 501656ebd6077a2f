import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../sim/index.js';
import { startSimulator } from '../../sim/index.js';
import { AUTH, getRaw, manualClock } from './helpers.js';

const PING = '/pbxcore/api/v3/system:ping';
let sim: Simulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

/** n requests, 20 at a time (the limiter counts them all the same) */
async function burst(s: Simulator, n: number, path = PING): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = Array.from({ length: Math.min(20, n - i) }, () => getRaw(s, path, { headers: AUTH }).then((r) => r.status));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

describe('nginx rate limiter', () => {
  it('allows 180 + 20 per 60 s window, refuses the 201st with plain-text 429, then bans the IP', async () => {
    const clock = manualClock();
    sim = await startSimulator({ now: clock.now });
    const statuses = await burst(sim, 200);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const refused = await getRaw(sim, PING);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('text/plain');
    expect(refused.text).toBe('Too many requests\n');
    // banned everywhere, also before auth and for unknown paths, even after the window
    clock.advance(61_000);
    expect((await getRaw(sim, '/pbxcore/api/v3/sip:getStatuses')).status).toBe(429);
    expect((await getRaw(sim, '/pbxcore/api/v3/unknown')).status).toBe(429);
    // control paths are exempt
    expect((await getRaw(sim, '/__sim/truth')).status).toBe(200);
    clock.advance(300_000 - 61_000 - 1);
    expect((await getRaw(sim, PING)).status).toBe(429);
    clock.advance(1);
    expect((await getRaw(sim, PING)).status).toBe(200);
    expect(sim.stats.rateLimited).toBeGreaterThanOrEqual(4);
  });

  it('the window starts with the first request, not on the minute', async () => {
    const clock = manualClock();
    sim = await startSimulator({ now: clock.now, rateLimit: { perMinute: 3, burst: 1, banSeconds: 10 } });
    expect(await burst(sim, 4)).toEqual([200, 200, 200, 200]);
    clock.advance(59_999);
    expect((await getRaw(sim, PING)).status).toBe(429);
  });

  it('doubles the ban for repeat offences, capped at 3600 s', async () => {
    const clock = manualClock();
    sim = await startSimulator({ now: clock.now, rateLimit: { perMinute: 1, burst: 0, banSeconds: 1000 } });
    const offend = async (): Promise<void> => {
      expect(await burst(sim as Simulator, 2)).toEqual([200, 429]);
    };
    await offend(); // 1000 s
    clock.advance(999_999);
    expect((await getRaw(sim, PING)).status).toBe(429);
    clock.advance(1);
    await offend(); // 2000 s
    clock.advance(1_999_999);
    expect((await getRaw(sim, PING)).status).toBe(429);
    clock.advance(1);
    await offend(); // 4000 s -> capped to 3600 s
    clock.advance(3_600_000);
    expect((await getRaw(sim, PING)).status).toBe(200);
  });

  it('can be disabled, and does not exist on legacy builds', async () => {
    sim = await startSimulator({ rateLimit: false });
    expect((await burst(sim, 210)).every((s) => s === 200)).toBe(true);
    await sim.close();
    sim = await startSimulator({ mode: 'legacy', rateLimit: { perMinute: 2, burst: 0, banSeconds: 300 } });
    expect((await burst(sim, 5, '/pbxcore/api/system/ping')).every((s) => s === 200)).toBe(true);
  });
});
