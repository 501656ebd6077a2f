import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';
import { sharedBytes, sharedText } from './shared-text.js';
import { ownBuffer } from './unpooled.js';

/** One series of a family: label values in the family's labelNames order, and the value. */
export type SeriesRow = readonly [labelValues: readonly string[], value: number];

/** A sample as prom-client's get() gives it (histograms name their _bucket, _sum and _count samples). */
export interface FamilySample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A metric family whose exposition lines are kept as UTF-8 bytes, written when its series change,
 * instead of prom-client's label hashing on every update and formatting on every render: at 5,000
 * extensions those two were most of a poll's CPU time, and in a fleet prom-client's objects were
 * most of a target's memory. It registers in a prom-client Registry like any metric (so names
 * stay unique and `registry.metrics()` still works); renderExposition() takes its bytes as they are,
 * and a fleet's compressed render has its text written anew instead (writeText), keeping nothing.
 */
export abstract class SeriesFamily {
  readonly aggregator = 'sum' as const;
  /** `# HELP …\n# TYPE …`, one string shared by every family with the same text (a fleet's targets). */
  private headerText: string;
  private helpText: string;
  /** The lines as bytes, kept until they change (plain renders: a scrape writes them as they are). */
  private encoded: Buffer | null = null;

  constructor(
    readonly name: string,
    help: string,
    readonly type: 'gauge' | 'counter' | 'histogram',
    readonly labelNames: readonly string[],
    registers: readonly Registry[],
  ) {
    this.helpText = help;
    this.headerText = this.headerFor(help);
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  get help(): string {
    return this.helpText;
  }

  /** A new HELP text (as prom-client metrics allow by assigning `help`). */
  set help(text: string) {
    this.helpText = text;
    this.headerText = this.headerFor(text);
  }

  private headerFor(help: string): string {
    return sharedText(`# HELP ${this.name} ${escapeHelp(help)}\n# TYPE ${this.name} ${this.type}`);
  }

  /** Appends one exposition line per sample, in exposition order. */
  protected abstract writeLines(lines: string[]): void;

  /** The samples as prom-client's get() gives them. */
  protected abstract samples(): FamilySample[];

  /** The series changed: lines() writes them again. */
  protected changed(): void {
    this.encoded = null;
  }

  protected checkLabels(labels: readonly string[]): void {
    if (labels.length !== this.labelNames.length) throw new Error(`${this.name}: ${labels.length} label values for ${this.labelNames.length} label names`);
  }

  /**
   * The family as prom-client renders a metric (HELP, TYPE, a line per sample, no final newline):
   * its header (one buffer shared by every family with the same text), then its own lines (each
   * after a newline; none without series), kept until they change.
   */
  chunks(): readonly Buffer[] {
    const lines = this.lines();
    const header = sharedBytes(this.headerText);
    return lines.length === 0 ? [header] : [header, lines];
  }

  /** The sample lines, each after a newline, kept until the series change. */
  lines(): Buffer {
    if (!this.encoded) {
      const lines = [''];
      this.writeLines(lines);
      // One join, not a string grown line by line: no rope of ~100,000 pieces to flatten and collect.
      this.encoded = lines.length === 1 ? NO_LINES : ownBuffer(lines.join('\n'));
    }
    return this.encoded;
  }

  /**
   * Appends the header and the sample lines, to be joined with newlines; nothing is kept. A
   * fleet's compressed render takes this path: its thousand targets would otherwise keep ≈ 40 KiB
   * of lines each (the gzip member holds them anyway), and writing them again costs less than
   * collecting what a kept copy costs (see rendered.ts).
   */
  writeText(parts: string[]): void {
    parts.push(this.headerText);
    this.writeLines(parts);
  }

  /** prom-client's view of the family (for `registry.metrics()`, `getMetricsAsJSON()` and tests). */
  async get(): Promise<{ name: string; help: string; type: 'gauge' | 'counter' | 'histogram'; aggregator: 'sum'; values: FamilySample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() };
  }

  abstract reset(): void;
}

const NO_LINES = Buffer.alloc(0);

/** `{a="x",b="y"}` (nothing without labels): the label part of the line of series `row`, `prefixes` from labelPrefixes(). */
function labelPart(prefixes: readonly string[], labelValues: readonly string[], row: number): string {
  const n = prefixes.length;
  if (n === 0) return '';
  let part = '';
  for (let i = 0; i < n; i++) part += `${prefixes[i]}${escapeLabelValue(labelValues[row * n + i] as string)}"`;
  return `${part}}`;
}

const prefixTable = new Map<string, readonly string[]>();

/**
 * What goes before each label value: `{name="` for the first label, `,name="` for the others.
 * Shared by every family with the same label names (a fleet's targets have the same families).
 */
function labelPrefixes(labelNames: readonly string[], first = '{'): readonly string[] {
  const key = `${first}${labelNames.join(',')}`;
  let prefixes = prefixTable.get(key);
  if (!prefixes) {
    prefixes = Object.freeze(labelNames.map((l, i) => `${i === 0 ? first : ','}${l}="`));
    prefixTable.set(key, prefixes);
  }
  return prefixes;
}

/**
 * A family with one value per series: gauges and counters. The series are kept flat, one array
 * of label values (labelNames.length per series) and one of values (a plain array of numbers,
 * which V8 keeps unboxed), not an object or array per series: a fleet holds half a million.
 */
export abstract class RowFamily extends SeriesFamily {
  protected readonly prefixes = labelPrefixes(this.labelNames);
  protected labelValues: string[] = [];
  protected values: number[] = [];

  protected writeLines(lines: string[]): void {
    const { name, prefixes, labelValues, values } = this;
    for (let r = 0; r < values.length; r++) lines.push(`${name}${labelPart(prefixes, labelValues, r)} ${formatValue(values[r] as number)}`);
  }

  protected samples(): FamilySample[] {
    const n = this.labelNames.length;
    return this.values.map((value, r) => ({ value, labels: Object.fromEntries(this.labelNames.map((l, i) => [l, this.labelValues[r * n + i] as string])) }));
  }

  /** Drops series `row`, keeping the order of the others. */
  protected removeRow(row: number): void {
    const n = this.labelNames.length;
    this.labelValues.splice(row * n, n);
    this.values.splice(row, 1);
    this.changed();
  }

  protected clearRows(): void {
    this.labelValues = [];
    this.values = [];
    this.changed();
  }
}

/** A gauge family whose series are all replaced by each collector run (one series per object). */
export class GaugeFamily extends RowFamily {
  constructor(name: string, help: string, labelNames: readonly string[], registers: readonly Registry[]) {
    super(name, help, 'gauge', labelNames, registers);
  }

  /**
   * Replaces every series with these rows, in this order; one row per label set (prom-client
   * would merge duplicates). Rows equal to the current ones keep the lines already written: most
   * polls change a few of 5,000 extensions, and comparing is cheaper than writing.
   */
  replace(rows: SeriesRow[]): void {
    for (const [labels] of rows) this.checkLabels(labels);
    if (this.holds(rows)) return;
    const n = this.labelNames.length;
    const labelValues = new Array<string>(rows.length * n);
    const values = new Array<number>(rows.length);
    rows.forEach(([labels, value], r) => {
      for (let i = 0; i < n; i++) labelValues[r * n + i] = labels[i] as string;
      values[r] = value;
    });
    this.labelValues = labelValues;
    this.values = values;
    this.changed();
  }

  private holds(rows: readonly SeriesRow[]): boolean {
    if (rows.length !== this.values.length) return false;
    const n = this.labelNames.length;
    for (let r = 0; r < rows.length; r++) {
      const [labels, value] = rows[r] as SeriesRow;
      if (!Object.is(value, this.values[r])) return false;
      for (let i = 0; i < n; i++) if (labels[i] !== this.labelValues[r * n + i]) return false;
    }
    return true;
  }

  reset(): void {
    this.clearRows();
  }
}

/**
 * A counter family incremented series by series (per trunk, call by call during CDR polls). Its
 * lines are written again only after a change, so renders after status polls reuse them.
 */
export class CounterFamily extends RowFamily {
  /**
   * Series row by label values joined with NUL, built once there are many series (2,400 at 200
   * trunks); a fleet target's few dozen are searched instead, without a key string each.
   */
  private index: Map<string, number> | null = null;

  constructor(name: string, help: string, labelNames: readonly string[], registers: readonly Registry[]) {
    super(name, help, 'counter', labelNames, registers);
  }

  inc(labels: readonly string[], by = 1): void {
    this.checkLabels(labels);
    const row = this.rowOf(labels);
    if (row >= 0) this.values[row] = (this.values[row] as number) + by;
    else {
      this.index?.set(labels.join('\u0000'), this.values.length);
      this.labelValues.push(...labels);
      this.values.push(by);
    }
    this.changed();
  }

  remove(labels: readonly string[]): void {
    const row = this.rowOf(labels);
    if (row < 0) return;
    this.removeRow(row);
    this.index = null; // rows after it moved up: built again when next needed
  }

  reset(): void {
    this.index = null;
    this.clearRows();
  }

  private rowOf(labels: readonly string[]): number {
    const { labelValues, values } = this;
    if (values.length > INDEXED_ABOVE) {
      if (!this.index) {
        this.index = new Map();
        for (let r = 0; r < values.length; r++) this.index.set(this.keyOf(r), r);
      }
      return this.index.get(labels.join('\u0000')) ?? -1;
    }
    const n = this.labelNames.length;
    search: for (let r = 0; r < values.length; r++) {
      for (let i = 0; i < n; i++) if (labelValues[r * n + i] !== labels[i]) continue search;
      return r;
    }
    return -1;
  }

  private keyOf(row: number): string {
    const n = this.labelNames.length;
    return this.labelValues.slice(row * n, row * n + n).join('\u0000');
  }
}

const INDEXED_ABOVE = 256;

/** One histogram series: counts per bucket (not cumulative; the last is +Inf), sum and count. */
interface HistogramSeries {
  labels: readonly string[];
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram with a series per label set, rendered as prom-client renders its Histogram (`le`
 * first, cumulative buckets, then _sum and _count). prom-client keeps a histogram series' buckets
 * in an object keyed by the bounds, which V8 holds as a sparse dictionary for bounds such as
 * 14400: ≈ 2 KiB a series, and a fleet has thousands of series. Here each is one small array of
 * numbers, and the lines are written again only after an observation.
 */
export class HistogramFamily extends SeriesFamily {
  private readonly bounds: readonly number[];
  private readonly bucketPrefixes: readonly string[];
  private readonly bucketLe: readonly string[];
  private readonly prefixes: readonly string[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], registers: readonly Registry[]) {
    super(name, help, 'histogram', labelNames, registers);
    this.bounds = [...buckets].sort((a, b) => a - b);
    this.bucketLe = [...this.bounds.map(formatValue), '+Inf'];
    this.prefixes = labelPrefixes(labelNames);
    this.bucketPrefixes = labelPrefixes(labelNames, ',');
  }

  /** Counts `value` in the series of `labels`. */
  observe(labels: readonly string[], value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: observed value is not a finite number: ${value}`);
    const s = this.seriesOf(labels);
    let b = 0;
    while (b < this.bounds.length && value > (this.bounds[b] as number)) b++;
    s.counts[b] = (s.counts[b] as number) + 1;
    s.sum += value;
    s.count++;
    this.changed();
  }

  /** Makes the series of `labels` exist with zero counts (as prom-client's zero()). */
  zero(labels: readonly string[]): void {
    this.seriesOf(labels);
    this.changed();
  }

  private seriesOf(labels: readonly string[]): HistogramSeries {
    const key = labels.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      this.checkLabels(labels);
      s = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  protected writeLines(lines: string[]): void {
    const bucket = `${this.name}_bucket{le="`;
    for (const s of this.series.values()) {
      const rest = labelPart(this.bucketPrefixes, s.labels, 0);
      let cumulative = 0;
      for (let b = 0; b < s.counts.length; b++) {
        cumulative += s.counts[b] as number;
        lines.push(`${bucket}${this.bucketLe[b]}"${rest === '' ? '}' : rest} ${formatValue(cumulative)}`);
      }
      const labels = labelPart(this.prefixes, s.labels, 0);
      lines.push(`${this.name}_sum${labels} ${formatValue(s.sum)}`, `${this.name}_count${labels} ${formatValue(s.count)}`);
    }
  }

  protected samples(): FamilySample[] {
    const out: FamilySample[] = [];
    for (const s of this.series.values()) {
      const labels = Object.fromEntries(this.labelNames.map((l, i) => [l, s.labels[i] as string]));
      let cumulative = 0;
      s.counts.forEach((n, b) => {
        cumulative += n;
        out.push({ value: cumulative, labels: { le: (this.bounds[b] as number | undefined) ?? '+Inf', ...labels }, metricName: `${this.name}_bucket` });
      });
      out.push({ value: s.sum, labels, metricName: `${this.name}_sum` }, { value: s.count, labels, metricName: `${this.name}_count` });
    }
    return out;
  }

  reset(): void {
    this.series.clear();
    this.changed();
  }
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Label value escaping of the text format (backslash, newline, double quote). */
export function escapeLabelValue(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : s;
}

export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it (including its `Nan` spelling, which parsers accept). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return `${v}`;
}
