export const BACKOFF_REASONS = ['rate_limited', 'overloaded', 'login_refused'] as const;
export type BackoffReason = (typeof BACKOFF_REASONS)[number];

interface Policy {
  firstMs: number;
  maxMs: number;
  /** Repeats within this window double the pause; after it the next pause starts from firstMs. */
  memoryMs: number;
}

const POLICIES: Record<BackoffReason, Policy> = {
  // nginx (unified-security.lua) blocks for 300 s, doubling per repeat offence (remembered 24 h),
  // capped at 3600 s. A small margin makes sure the ban is over before we knock again.
  rate_limited: { firstMs: 305_000, maxMs: 3_605_000, memoryMs: 24 * 3600_000 },
  // 503 queue full / 400 worker timeout: give the 3 API workers room instead of adding to the queue.
  overloaded: { firstMs: 15_000, maxMs: 300_000, memoryMs: 600_000 },
  // Legacy login refused: every attempt counts toward the 10-per-5-min throttle and fail2ban's
  // 5-in-30-min rule (24 h ban), so wait well past fail2ban's window.
  login_refused: { firstMs: 1_800_000, maxMs: 4 * 3600_000, memoryMs: 24 * 3600_000 },
};

interface State {
  until: number;
  lastPauseMs: number;
  lastAt: number;
}

/** Per-PBX pauses: while one is active, no request is sent to that PBX. */
export class Backoff {
  private readonly states = new Map<BackoffReason, State>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Starts (or extends, doubling) a pause; returns its length in ms. */
  trip(reason: BackoffReason): number {
    const t = this.now();
    const p = POLICIES[reason];
    const prev = this.states.get(reason);
    const pause = prev && t - prev.lastAt < p.memoryMs ? Math.min(prev.lastPauseMs * 2, p.maxMs) : p.firstMs;
    this.states.set(reason, { until: t + pause, lastPauseMs: pause, lastAt: t });
    return pause;
  }

  /** Clears the doubling memory of a reason after a clean success. */
  reset(reason: BackoffReason): void {
    const s = this.states.get(reason);
    if (s && s.until <= this.now()) this.states.delete(reason);
  }

  /** The active pause that ends last, if any. */
  active(): { reason: BackoffReason; until: number } | null {
    const t = this.now();
    let best: { reason: BackoffReason; until: number } | null = null;
    for (const [reason, s] of this.states) {
      if (s.until > t && (!best || s.until > best.until)) best = { reason, until: s.until };
    }
    return best;
  }

  /** Unix ms the pause for a reason ends (0 if none active). */
  until(reason: BackoffReason): number {
    const s = this.states.get(reason);
    return s && s.until > this.now() ? s.until : 0;
  }
}
