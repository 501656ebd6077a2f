import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';

/** One series of a family: label values in the family's labelNames order, and the value. */
export type SeriesRow = readonly [labelValues: readonly string[], value: number];

/**
 * A gauge family whose series are replaced all at once by each collector run (one series per
 * extension or per trunk). It keeps its sample lines as exposition text, written once per
 * replace(), instead of prom-client's per-series label hashing on set() and formatting on every
 * render: at 5,000 extensions those two were most of a poll's CPU time.
 *
 * It registers in a prom-client Registry like any metric (so names stay unique and
 * `registry.metrics()` still works); renderExposition() uses its text directly. The caller
 * guarantees one row per label set (prom-client would silently merge duplicates).
 */
export class GaugeFamily {
  readonly type = 'gauge' as const;
  readonly aggregator = 'sum' as const;
  private readonly header: string;
  private readonly labelPrefixes: string[];
  private rows: SeriesRow[] = [];
  private encoded: Buffer | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registers: readonly Registry[],
  ) {
    this.header = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} gauge`;
    this.labelPrefixes = labelNames.map((l, i) => `${i === 0 ? '{' : ','}${l}="`);
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  /** Replaces every series of the family with these rows, in this order. */
  replace(rows: SeriesRow[]): void {
    const n = this.labelNames.length;
    let out = this.header;
    for (const [labels, value] of rows) {
      if (labels.length !== n) throw new Error(`${this.name}: ${labels.length} label values for ${n} label names`);
      out += `\n${this.name}`;
      for (let i = 0; i < n; i++) out += `${this.labelPrefixes[i]}${escapeLabelValue(labels[i] as string)}"`;
      out += `${n > 0 ? '}' : ''} ${formatValue(value)}`;
    }
    this.rows = rows;
    this.encoded = Buffer.from(out);
  }

  reset(): void {
    this.replace([]);
  }

  /**
   * This family as prom-client renders a metric (HELP, TYPE, one line per series, no final
   * newline), as UTF-8 encoded once per replace(): renders in between reuse it.
   */
  bytes(): Buffer {
    this.encoded ??= Buffer.from(this.header);
    return this.encoded;
  }

  /** prom-client's view of the family (for `registry.metrics()`, `getMetricsAsJSON()` and tests). */
  async get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'sum'; values: { value: number; labels: Record<string, string> }[] }> {
    const values = this.rows.map(([labels, value]) => ({ value, labels: Object.fromEntries(this.labelNames.map((l, i) => [l, labels[i] as string])) }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Label value escaping of the text format (backslash, newline, double quote). */
export function escapeLabelValue(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : s;
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it (including its `Nan` spelling, which parsers accept). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}
