// nginx Lua limiter (unified-security.lua): per IP, a 60 s window that starts with the first
// request, limit + burst requests allowed, then a block of banSeconds * 2^offences (cap 3600 s);
// offences are remembered for 24 h.

export interface RateLimitConfig {
  perMinute: number;
  burst: number;
  banSeconds: number;
}

interface IpState {
  windowStart: number;
  count: number;
  blockedUntil: number;
  offences: number;
  offencesUntil: number;
}

export class RateLimiter {
  private readonly ips = new Map<string, IpState>();

  constructor(
    private readonly config: RateLimitConfig | false,
    private readonly now: () => number,
  ) {}

  private state(ip: string): IpState {
    let s = this.ips.get(ip);
    if (!s) {
      s = { windowStart: -Infinity, count: 0, blockedUntil: 0, offences: 0, offencesUntil: 0 };
      this.ips.set(ip, s);
    }
    return s;
  }

  isBlocked(ip: string): boolean {
    const s = this.ips.get(ip);
    return s !== undefined && s.blockedUntil > this.now();
  }

  /** seconds of block left for the IP, 0 if none */
  blockedFor(ip: string): number {
    const s = this.ips.get(ip);
    return s ? Math.max(0, Math.ceil((s.blockedUntil - this.now()) / 1000)) : 0;
  }

  /** counts the request when `count`; false means answer 429 */
  allow(ip: string, count: boolean): boolean {
    if (this.isBlocked(ip)) return false;
    if (!count || this.config === false) return true;
    const now = this.now();
    const s = this.state(ip);
    if (now - s.windowStart >= 60_000) {
      s.windowStart = now;
      s.count = 0;
    }
    s.count++;
    if (s.count > this.config.perMinute + this.config.burst) {
      this.ban(ip);
      return false;
    }
    return true;
  }

  /** blocks the IP as a limit breach does (also used by the status-429 fault) */
  ban(ip: string): void {
    const now = this.now();
    const s = this.state(ip);
    if (s.offencesUntil <= now) s.offences = 0;
    const base = this.config === false ? 300 : this.config.banSeconds;
    const seconds = Math.min(base * 2 ** s.offences, 3600);
    s.blockedUntil = now + seconds * 1000;
    s.offences++;
    s.offencesUntil = now + 86_400_000;
  }

  reset(): void {
    this.ips.clear();
  }
}
