/**
 * Secret scrubbing. Each owner of secrets (a PBX target: its API key, password and session
 * cookies; the web server: basic-auth passwords) has its own SecretScrubber, so one owner's
 * cookies never evict another's and closing an owner drops exactly its secrets. The process
 * logger scrubs every line through the ScrubberRegistry of all live scrubbers.
 */

const REDACTED = '[REDACTED]';
const DEFAULT_MAX_TRANSIENT = 64;

/** The forms a secret can take in a log line or page: raw, JSON-escaped, URI-encoded, base64. */
function variants(s: string): string[] {
  return [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s), Buffer.from(s).toString('base64')];
}

export interface SecretScrubberOptions {
  /** Permanent secrets known up front (API key, password). */
  secrets?: ReadonlyArray<string | undefined>;
  /** How many transient secrets (session cookies) are kept; the oldest is dropped beyond it. */
  maxTransient?: number;
}

/** The secrets of one owner, and the replacement of all their forms in a text. */
export class SecretScrubber {
  private readonly permanent = new Set<string>();
  private readonly transient = new Set<string>();
  private readonly maxTransient: number;
  private needles: string[] = [];

  constructor(opts: SecretScrubberOptions = {}) {
    this.maxTransient = opts.maxTransient ?? DEFAULT_MAX_TRANSIENT;
    for (const s of opts.secrets ?? []) this.add(s);
  }

  /**
   * Adds a secret to scrub from now on. Transient ones (cookies that the PBX hands out and
   * replaces) are bounded, so a PBX issuing a new session per request cannot grow this forever.
   */
  add(secret: string | undefined, opts: { transient?: boolean } = {}): void {
    // Too short to scrub without mangling ordinary text; such values are not real secrets anyway.
    if (secret === undefined || secret.length < 4 || this.permanent.has(secret) || this.transient.has(secret)) return;
    if (opts.transient) {
      this.transient.add(secret);
      if (this.transient.size > this.maxTransient) this.transient.delete(this.transient.values().next().value as string);
    } else {
      this.permanent.add(secret);
    }
    this.rebuild();
  }

  /** Whether this scrubber holds a secret. */
  knows(secret: string): boolean {
    return this.permanent.has(secret) || this.transient.has(secret);
  }

  /** Replaces every form of every secret in a text. */
  scrub(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  }

  /** Forgets every secret (the owner is closed). */
  clear(): void {
    this.permanent.clear();
    this.transient.clear();
    this.needles = [];
  }

  private rebuild(): void {
    const all = new Set<string>();
    for (const s of [...this.permanent, ...this.transient]) for (const v of variants(s)) if (v.length >= 4) all.add(v);
    // Longest first, so a secret that contains another is replaced whole.
    this.needles = [...all].sort((a, b) => b.length - a.length);
  }
}

/**
 * The live scrubbers of a process. Created by main (or the exporter) and handed to the logger
 * and to every owner of secrets, which adds its scrubber on creation and removes it on close.
 */
export class ScrubberRegistry {
  private readonly live = new Set<SecretScrubber>();

  /** Adds a scrubber; returns the function that removes it again. */
  add(scrubber: SecretScrubber): () => void {
    this.live.add(scrubber);
    return () => {
      this.live.delete(scrubber);
    };
  }

  /** Scrubs a text with every live scrubber. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.live) out = s.scrub(out);
    return out;
  }

  get size(): number {
    return this.live.size;
  }
}
