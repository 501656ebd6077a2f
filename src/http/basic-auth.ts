import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import bcrypt from 'bcryptjs';
import type { SecretScrubber } from '../secrets.js';

// basic_auth_users of a web config (exporter-toolkit's web/handler.go).

const REALM = 'Basic realm="mikopbx-exporter"';

/**
 * Basic auth against bcrypt hashes. bcrypt costs ~80 ms of CPU at cost 10, so verdicts are cached
 * (keyed by a salted hash of the header, never the header itself) and checks run one at a time.
 */
export class BasicAuth {
  private readonly cache = new Map<string, { ok: boolean; at: number }>();
  private readonly salt = randomBytes(16);
  private queue: Promise<unknown> = Promise.resolve();
  private decoy: string | undefined;

  constructor(
    private users: Map<string, string>,
    private readonly opts: {
      cacheSize?: number;
      cacheTtlMs?: number;
      now?: () => number;
      /** The web server's scrubber, which learns each verified password. */
      secrets?: SecretScrubber;
    } = {},
  ) {}

  get enabled(): boolean {
    return this.users.size > 0;
  }

  /** Cached verdicts and the decoy belong to the old users; with the cache cleared, a hit needs no check that its user still exists. */
  setUsers(users: Map<string, string>): void {
    this.users = users;
    this.decoy = undefined;
    this.cache.clear();
  }

  /** True when the request carries valid credentials (or no users are configured). */
  async check(header: string | undefined): Promise<boolean> {
    if (!this.enabled) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return false;
    const now = (this.opts.now ?? Date.now)();
    const key = createHash('sha256')
      .update(this.salt)
      .update(m[1] as string)
      .digest('base64');
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.opts.cacheTtlMs ?? 60_000)) {
      this.cache.delete(key); // re-insert: most recently used last
      this.cache.set(key, hit);
      return hit.ok;
    }
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const ok = await this.verify(user, password);
    if (ok) {
      // Only verified ones: a handful of real passwords, never what strangers try.
      this.opts.secrets?.add(password);
      this.opts.secrets?.add(m[1]);
    }
    this.cache.set(key, { ok, at: now });
    while (this.cache.size > (this.opts.cacheSize ?? 64)) this.cache.delete(this.cache.keys().next().value as string);
    return ok;
  }

  private verify(user: string, password: string): Promise<boolean> {
    // Compare the name against every user in constant time, and run bcrypt even for an unknown
    // user, so timing tells nothing about which names exist.
    const wanted = createHash('sha256').update(user).digest();
    let hash: string | undefined;
    for (const [name, h] of this.users) {
      if (timingSafeEqual(createHash('sha256').update(name).digest(), wanted)) hash = h;
    }
    const run = this.queue.then(async () => {
      this.decoy ??= await decoyFor(this.users);
      const match = await bcrypt.compare(password, hash ?? this.decoy);
      return match && hash !== undefined;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The request hook for the HTTP server: answers 401 itself when refused. */
  authorize = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => {
    if (await this.check(req.headers.authorization)) return true;
    const body = 'unauthorized\n';
    res.writeHead(401, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'www-authenticate': REALM,
      'cache-control': 'no-store',
    });
    res.end(body);
    return false;
  };
}

/** A hash of the users' highest cost, compared against for unknown user names. */
function decoyFor(users: Map<string, string>): Promise<string> {
  let cost = 4;
  for (const h of users.values()) cost = Math.max(cost, bcrypt.getRounds(h));
  return bcrypt.hash(randomBytes(12).toString('hex'), Math.min(cost, 14));
}
