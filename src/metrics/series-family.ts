import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';
import { unpooled } from './unpooled.js';

/** One series of a family: label values in the family's labelNames order, and the value. */
export type SeriesRow = readonly [labelValues: readonly string[], value: number];

/**
 * A metric family with one series per PBX object (extension, trunk) that keeps its exposition
 * lines as UTF-8 bytes, written when its series change, instead of prom-client's label hashing on
 * every update and formatting on every render: at 5,000 extensions those two were most of a
 * poll's CPU time. It registers in a prom-client Registry like any metric (so names stay unique
 * and `registry.metrics()` still works); renderExposition() takes its bytes as they are.
 */
export abstract class SeriesFamily {
  readonly aggregator = 'sum' as const;
  private header: string;
  private helpText: string;
  private readonly labelPrefixes: string[];
  private encoded: Buffer | null = null;

  constructor(
    readonly name: string,
    help: string,
    readonly type: 'gauge' | 'counter',
    readonly labelNames: readonly string[],
    registers: readonly Registry[],
  ) {
    this.helpText = help;
    this.header = this.headerFor(help);
    this.labelPrefixes = labelNames.map((l, i) => `${i === 0 ? '{' : ','}${l}="`);
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  get help(): string {
    return this.helpText;
  }

  /** A new HELP text (as prom-client metrics allow by assigning `help`). */
  set help(text: string) {
    this.helpText = text;
    this.header = this.headerFor(text);
    this.encoded = null;
  }

  private headerFor(help: string): string {
    return `# HELP ${this.name} ${escapeHelp(help)}\n# TYPE ${this.name} ${this.type}`;
  }

  /** The series in exposition order. */
  protected abstract rows(): Iterable<SeriesRow>;

  /** The series changed: bytes() renders them again. */
  protected changed(): void {
    this.encoded = null;
  }

  protected checkLabels(labels: readonly string[]): void {
    if (labels.length !== this.labelNames.length) throw new Error(`${this.name}: ${labels.length} label values for ${this.labelNames.length} label names`);
  }

  /** The family as prom-client renders a metric (HELP, TYPE, a line per series, no final newline). */
  bytes(): Buffer {
    if (this.encoded) return this.encoded;
    const n = this.labelNames.length;
    const lines = [this.header];
    for (const [labels, value] of this.rows()) {
      let line = this.name;
      for (let i = 0; i < n; i++) line += `${this.labelPrefixes[i]}${escapeLabelValue(labels[i] as string)}"`;
      lines.push(`${line}${n > 0 ? '}' : ''} ${formatValue(value)}`);
    }
    // One join, not a string grown line by line: no rope of ~100,000 pieces to flatten and collect.
    this.encoded = unpooled(Buffer.from(lines.join('\n')));
    return this.encoded;
  }

  /** prom-client's view of the family (for `registry.metrics()`, `getMetricsAsJSON()` and tests). */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'gauge' | 'counter';
    aggregator: 'sum';
    values: { value: number; labels: Record<string, string> }[];
  }> {
    const values = [...this.rows()].map(([labels, value]) => ({ value, labels: Object.fromEntries(this.labelNames.map((l, i) => [l, labels[i] as string])) }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  abstract reset(): void;
}

/** A gauge family whose series are all replaced by each collector run (one series per object). */
export class GaugeFamily extends SeriesFamily {
  private current: SeriesRow[] = [];

  constructor(name: string, help: string, labelNames: readonly string[], registers: readonly Registry[]) {
    super(name, help, 'gauge', labelNames, registers);
  }

  /**
   * Replaces every series with these rows, in this order; one row per label set (prom-client
   * would merge duplicates). Rows equal to the current ones keep the bytes already written: most
   * polls change a few of 5,000 extensions, and comparing is cheaper than writing.
   */
  replace(rows: SeriesRow[]): void {
    for (const [labels] of rows) this.checkLabels(labels);
    if (sameRows(this.current, rows)) return;
    this.current = rows;
    this.changed();
    this.bytes(); // rendered now, in the poll, rather than by the first scrape after it
  }

  protected rows(): Iterable<SeriesRow> {
    return this.current;
  }

  reset(): void {
    this.replace([]);
  }
}

/**
 * A counter family incremented series by series (per trunk, call by call during CDR polls). Its
 * bytes are rendered again only after a change, so renders after status polls reuse them.
 */
export class CounterFamily extends SeriesFamily {
  private readonly series = new Map<string, [labelValues: readonly string[], value: number]>();

  constructor(name: string, help: string, labelNames: readonly string[], registers: readonly Registry[]) {
    super(name, help, 'counter', labelNames, registers);
  }

  inc(labels: readonly string[], by = 1): void {
    const key = labels.join('\u0000');
    const s = this.series.get(key);
    if (s) s[1] += by;
    else {
      this.checkLabels(labels);
      this.series.set(key, [labels, by]);
    }
    this.changed();
  }

  remove(labels: readonly string[]): void {
    if (this.series.delete(labels.join('\u0000'))) this.changed();
  }

  protected rows(): Iterable<SeriesRow> {
    return this.series.values();
  }

  reset(): void {
    this.series.clear();
    this.changed();
  }
}

function sameRows(a: readonly SeriesRow[], b: readonly SeriesRow[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [la, va] = a[i] as SeriesRow;
    const [lb, vb] = b[i] as SeriesRow;
    if (!Object.is(va, vb)) return false;
    for (let j = 0; j < la.length; j++) if (la[j] !== lb[j]) return false;
  }
  return true;
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
