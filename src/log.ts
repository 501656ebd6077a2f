import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

function needlesOf(secrets: Iterable<string>): string[] {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length < 4) continue; // too short to scrub without mangling ordinary text
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(encodeURIComponent(s));
  }
  return [...needles].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a secret, raw or JSON-escaped, in a serialised log line. */
export function makeScrubber(secrets: readonly string[]): (line: string) => string {
  const list = needlesOf(secrets);
  if (list.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const n of list) if (out.includes(n)) out = out.split(n).join('[REDACTED]');
    return out;
  };
}

// Secrets learnt at run time (legacy session cookies). Process-wide so that every logger scrubs
// them without wiring; only the most recent few are kept: older sessions are dead anyway.
const MAX_RUNTIME_SECRETS = 32;
const runtimeSecrets: string[] = [];
let runtimeScrub: (line: string) => string = (line) => line;

/** Adds a secret discovered at run time (e.g. a session cookie) to every logger's scrubber. */
export function registerRuntimeSecret(secret: string): void {
  if (secret.length < 4 || runtimeSecrets.includes(secret)) return;
  runtimeSecrets.push(secret);
  if (runtimeSecrets.length > MAX_RUNTIME_SECRETS) runtimeSecrets.shift();
  runtimeScrub = makeScrubber(runtimeSecrets);
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
      write(runtimeScrub(scrub(chunk.toString())));
      cb();
    },
  });
  return pino(
    {
      level: opts.level,
      base: { name: 'mikopbx-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['apiKey', 'password', 'cookie', 'headers.authorization', 'headers.cookie', 'headers["set-cookie"]', '*.apiKey', '*.password', '*.cookie'], censor: '[REDACTED]' },
    },
    stream,
  );
}
