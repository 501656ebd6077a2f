import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ScrubberRegistry, SecretScrubber } from './secrets.js';

export type { Logger };

const SCRUBBERS = Symbol('mikopbx-exporter.scrubbers');

export interface LoggerOptions {
  level: string;
  /**
   * The live secret scrubbers every line passes through. main creates it and hands it on to the
   * exporter; without one the logger makes its own (see scrubbersOf).
   */
  scrubbers?: ScrubberRegistry;
  /** Secrets known before anything else exists (tests); kept in a scrubber of their own. */
  secrets?: readonly string[];
  /** Where lines go; defaults to stdout. Tests pass a collector. */
  write?: (line: string) => void;
}

/**
 * pino logger whose every output line passes through the live secret scrubbers, so no code path
 * (error messages, stacks, request options) can leak an API key, password or session cookie.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const scrubbers = opts.scrubbers ?? new ScrubberRegistry();
  if (opts.secrets && opts.secrets.length > 0) scrubbers.add(new SecretScrubber({ secrets: opts.secrets }));
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      write(scrubbers.scrub(chunk.toString()));
      cb();
    },
  });
  const logger = pino(
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
  // Kept on the logger itself (children inherit it), so that code handed only a logger can
  // register the secrets it learns with the scrubbers that logger actually uses.
  Object.defineProperty(logger, SCRUBBERS, { value: scrubbers });
  return logger;
}

/** The scrubber registry a logger made by createLogger writes through (undefined for others). */
export function scrubbersOf(logger: Logger): ScrubberRegistry | undefined {
  return (logger as unknown as Record<symbol, ScrubberRegistry | undefined>)[SCRUBBERS];
}
