// v3 Bearer check (AuthenticationMiddleware) and legacy admin-cabinet sessions with the login throttle.

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export function isLocalhost(ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1';
}

export type BearerResult = 'none' | 'valid' | 'invalid';

export function checkBearer(headers: IncomingHttpHeaders, apiKey: string): BearerResult {
  const h = headers.authorization;
  if (h === undefined) return 'none';
  if (!h.startsWith('Bearer ')) return 'none';
  return h.slice(7).trim() === apiKey ? 'valid' : 'invalid';
}

/** the PHPSESSID value from a Cookie header */
export function sessionCookie(headers: IncomingHttpHeaders): string | undefined {
  const cookie = headers.cookie;
  if (cookie === undefined) return undefined;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'PHPSESSID') return v.join('=');
  }
  return undefined;
}

const SID_CHARS = '0123456789abcdefghijklmnopqrstuv';

/** Redis-backed PHP sessions with a sliding lifetime */
export class SessionStore {
  private readonly sessions = new Map<string, number>();
  /** every session id ever handed out, expired ones too (for secret scans in tests) */
  readonly issued: string[] = [];

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  create(): string {
    const bytes = randomBytes(26);
    let sid = '';
    for (const b of bytes) sid += SID_CHARS[b % 32];
    this.sessions.set(sid, this.now() + this.ttlSeconds * 1000);
    this.issued.push(sid);
    return sid;
  }

  /** valid session: refreshes its lifetime */
  touch(sid: string | undefined): boolean {
    if (sid === undefined) return false;
    const until = this.sessions.get(sid);
    const now = this.now();
    if (until === undefined || until <= now) {
      this.sessions.delete(sid);
      return false;
    }
    this.sessions.set(sid, now + this.ttlSeconds * 1000);
    return true;
  }

  destroy(sid: string | undefined): void {
    if (sid !== undefined) this.sessions.delete(sid);
  }

  expireAll(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }
}

/**
 * SessionController::countRemainAttempts: per IP in 300 s buckets aligned to the clock; every
 * call to session/start (successful or not) counts first, and the call that leaves 0 attempts
 * is refused, so the 10th login in a bucket already fails.
 */
export class LoginThrottle {
  private bucket = -1;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly max = 10,
    private readonly intervalSeconds = 300,
  ) {}

  /** remaining attempts after counting this one */
  count(ip: string): number {
    const bucket = Math.floor(this.now() / 1000 / this.intervalSeconds);
    if (bucket !== this.bucket) {
      this.bucket = bucket;
      this.counts.clear();
    }
    const n = (this.counts.get(ip) ?? 0) + 1;
    this.counts.set(ip, n);
    return Math.max(this.max - n, 0);
  }

  reset(): void {
    this.counts.clear();
  }
}
