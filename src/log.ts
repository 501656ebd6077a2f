import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Replaces every occurrence of a secret, raw or JSON-escaped, in a serialised log line. */
export function makeScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length < 4) continue; // too short to scrub without mangling ordinary text
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1));
    needles.add(encodeURIComponent(s));
  }
  const list = [...needles].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const n of list) if (out.includes(n)) out = out.split(n).join('[REDACTED]');
    return out;
  };
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
      redact: { paths: ['apiKey', 'password', 'headers.authorization', 'headers.cookie', '*.apiKey', '*.password'], censor: '[REDACTED]' },
    },
    stream,
  );
}
