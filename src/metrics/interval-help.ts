import type { Registry } from 'prom-client';
import { sharedText } from './shared-text.js';

/**
 * HELP texts that name a poll interval (contract §3: HELP says how often a value is refreshed).
 * The effective interval can change after start (the budget stretches it once the API generation
 * is known), so each text is kept as a function of the intervals and rewritten on change.
 */
export class IntervalHelp<T> {
  private readonly texts = new Map<string, (intervals: T) => string>();

  constructor(
    private intervals: T,
    /** Finds a metric by name (default: in the registry; a collector whose metrics leave it passes its own). */
    private readonly lookup: (name: string) => unknown,
  ) {}

  static of<T>(registry: Registry, intervals: T): IntervalHelp<T> {
    return new IntervalHelp(intervals, (name) => registry.getSingleMetric(name));
  }

  /** The HELP text of metric `name` for the current intervals; kept to be rewritten. */
  text(name: string, text: (intervals: T) => string): string {
    this.texts.set(name, text);
    return sharedText(text(this.intervals));
  }

  /** Rewrites every kept HELP text for new intervals. */
  set(intervals: T): void {
    this.intervals = intervals;
    for (const [name, text] of this.texts) {
      const metric = this.lookup(name) as { help: string } | undefined;
      if (metric) metric.help = sharedText(text(intervals));
    }
  }
}
