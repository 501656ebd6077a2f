import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

// Secrets known to this process (API key, password, session cookies, basic-auth passwords once
// verified). Process-wide because secrets are learnt at run time (e.g. a new session cookie) by
// code that has no handle on the logger. Transient ones (cookies) are bounded, oldest dropped.
const permanent = new Set<string>();
const transient = new Set<string>();
const MAX_TRANSIENT = 64;
let needles: string[] = [];

function variants(s: string): string[] {
  return [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s), Buffer.from(s).toString('base64')];
}

function rebuild(): void {
  const all = new Set<string>();
  for (const s of [...permanent, ...transient]) for (const v of variants(s)) if (v.length >= 4) all.add(v);
  needles = [...all].sort((a, b) => b.length - a.length);
}

/** Adds a secret to scrub from every log line, error text and page from now on. */
export function registerSecret(secret: string | undefined, opts: { transient?: boolean } = {}): void {
  // Too short to scrub without mangling ordinary text; such values are not real secrets anyway.
  if (secret === undefined || secret.length < 4 || permanent.has(secret) || transient.has(secret)) return;
  if (opts.transient) {
    transient.add(secret);
    if (transient.size > MAX_TRANSIENT) transient.delete(transient.values().next().value as string);
  } else {
    permanent.add(secret);
  }
  rebuild();
}

/** Replaces every registered secret (raw, JSON-escaped, URI-encoded, base64) in a text. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const n of needles) if (out.includes(n)) out = out.split(n).join('[REDACTED]');
  return out;
}

/** A scrubber for a fixed list of secrets (which are also registered process-wide). */
export function makeScrubber(secrets: readonly string[]): (line: string) => string {
  for (const s of secrets) registerSecret(s);
  return scrubSecrets;
}

export interface LoggerOptions {
  level: string;
  secrets?: readonly string[];
  /** Where lines go; defaults to stdout. Tests pass a collector. */
  write?: (line: string) => void;
}

/**
 * pino logger whose every output line passes through the secret scrubber, so no code path
 * (error messages, stacks, request options) can leak the API key or password.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const scrub = makeScrubber(opts.secrets ?? []);
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      write(scrub(chunk.toString()));
      cb();
    },
  });
  return pino(
    {
      level: opts.level,
      base: { name: 'mikopbx-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['apiKey', 'password', 'cookie', 'headers.authorization', 'headers.cookie', 'headers["set-cookie"]', '*.apiKey', '*.password', '*.cookie'],
        censor: '[REDACTED]',
      },
    },
    stream,
  );
}
