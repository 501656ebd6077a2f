// State shared by the request pipeline: model, clock, auth stores, limiter, counters.

import type { PbxClock } from './clock.js';
import type { QueueModel } from './ami/queues.js';
import type { PbxModel } from './model.js';
import type { RateLimitConfig } from './rate-limit.js';
import { RateLimiter } from './rate-limit.js';
import { LoginThrottle, SessionStore } from './auth.js';
import type { ApiMode, SimStats } from './types.js';

export interface ContextOptions {
  apiKey: string;
  localhostBypass: boolean;
  login: string;
  password: string;
  sessionTtlSeconds: number;
  rateLimit: RateLimitConfig | false;
}

export class SimContext {
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  readonly limiter: RateLimiter;
  readonly stats: SimStats = { loginAttempts: 0, failedLogins: 0, unauthenticatedRequests: 0, rateLimited: 0, forbiddenCalls: 0 };
  /** last time a "fresh" status fetch was simulated, for the server-side cache messages */
  readonly freshAt = { extensions: -Infinity, providers: -Infinity };
  /** call queues (AMI live state, REST `call-queues` configuration) */
  queues: QueueModel | null = null;
  private pidIndex = 0;
  private readonly pids: number[];

  constructor(
    readonly model: PbxModel,
    readonly clock: PbxClock,
    readonly opts: ContextOptions,
  ) {
    const now = (): number => clock.now();
    this.sessions = new SessionStore(opts.sessionTtlSeconds, now);
    this.throttle = new LoginThrottle(now);
    this.limiter = new RateLimiter(opts.rateLimit, now);
    const base = 2800 + (model.seed % 97);
    this.pids = [base, base + 1, base + 2];
  }

  get mode(): ApiMode {
    return this.model.mode;
  }

  /** three WorkerApiCommands processes take turns */
  nextPid(): number {
    const pid = this.pids[this.pidIndex % this.pids.length] as number;
    this.pidIndex++;
    return pid;
  }

  /** true when the cache window is still fresh (the PBX then says "Using cached data (fresh)") */
  cached(kind: 'extensions' | 'providers', windowMs: number, force: boolean): boolean {
    const now = this.clock.now();
    if (!force && now - this.freshAt[kind] < windowMs) return true;
    this.freshAt[kind] = now;
    return false;
  }
}
