/**
 * A real counter over a source counter that starts again from 0 now and then (Asterisk's queue
 * statistics after QueueReset or a restart, CoreProcessedCalls after a restart). The first value
 * seen is taken as it is; after that, a value lower than the previous one is a reset and counts
 * in full (the calls since the reset), a higher one counts by the difference. So nothing is counted
 * twice and nothing is lost, as long as a poll falls between two resets; a reset followed by more
 * calls than before, within one poll interval, is the one case it cannot see (unless told: `reset`).
 */
export class ResettingCounter {
  private last: number | null = null;

  /** The increment this value brings to the exported counter. */
  observe(value: number, reset = false): number {
    const last = this.last;
    this.last = value;
    if (last === null) return value;
    return reset || value < last ? value : value - last;
  }
}

/** ResettingCounters by key (queue, queue + member); keys not seen in a run are forgotten. */
export class ResettingCounters {
  private readonly byKey = new Map<string, ResettingCounter>();

  observe(key: string, value: number, reset = false): number {
    let c = this.byKey.get(key);
    if (!c) {
      c = new ResettingCounter();
      this.byKey.set(key, c);
    }
    return c.observe(value, reset);
  }

  /** Forgets every key not in `keep`; returns the forgotten ones. */
  retain(keep: ReadonlySet<string>): string[] {
    const gone: string[] = [];
    for (const k of this.byKey.keys()) {
      if (!keep.has(k)) {
        this.byKey.delete(k);
        gone.push(k);
      }
    }
    return gone;
  }
}
