import type { Registry } from 'prom-client';
import { RowFamily, type SeriesRow } from './series-family.js';

/** Label values by label name; every label of the metric must be given (prom-client would drop a missing one). */
export type LabelValues<T extends string> = Readonly<Record<T, string | number>>;

export interface LabelledConfig<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers: readonly Registry[];
}

/** One series: label values in labelNames order, and the value (changed in place). */
type Series = [labelValues: readonly string[], value: number];

/**
 * A gauge or counter that is set one label set at a time, as prom-client's are, kept as a series
 * family: its lines are written again only after a value changed. A fleet target has some thirty
 * such metrics (health, calls, disk); as prom-client metrics, with the copies a render keeps to
 * avoid formatting them again, they were about 40 KiB a target, and every render asked each one
 * for a new array of samples. The text is what prom-client writes, labels in labelNames order.
 */
abstract class LabelledMetric<T extends string> extends RowFamily {
  private readonly series = new Map<string, Series>();

  protected constructor(config: LabelledConfig<T>, type: 'gauge' | 'counter') {
    super(config.name, config.help, type, config.labelNames ?? [], config.registers);
    this.reset();
  }

  /** Drops the series of `labels` (the only series, without labels). */
  remove(labels?: LabelValues<T>): void {
    if (this.series.delete(this.key(this.valuesOf(labels)))) this.changed();
  }

  /** No series; a metric without labels has its one series at 0 again (as prom-client's reset). */
  reset(): void {
    this.series.clear();
    if (this.labelNames.length === 0) this.series.set('', [[], 0]);
    this.changed();
  }

  protected rows(): Iterable<SeriesRow> {
    return this.series.values();
  }

  protected setValue(labels: LabelValues<T> | undefined, value: number): void {
    if (typeof value !== 'number') throw new TypeError(`${this.name}: value is not a number: ${String(value)}`);
    const values = this.valuesOf(labels);
    const key = this.key(values);
    const s = this.series.get(key);
    if (s && Object.is(s[1], value)) return;
    if (s) s[1] = value;
    else this.series.set(key, [values, value]);
    this.changed();
  }

  protected addValue(labels: LabelValues<T> | undefined, by: number): void {
    if (typeof by !== 'number') throw new TypeError(`${this.name}: increment is not a number: ${String(by)}`);
    const values = this.valuesOf(labels);
    const key = this.key(values);
    const s = this.series.get(key);
    if (s) {
      if (by === 0) return;
      s[1] += by;
    } else this.series.set(key, [values, by]);
    this.changed();
  }

  private key(values: readonly string[]): string {
    return values.length === 1 ? (values[0] as string) : values.join('\u0000');
  }

  /** The label values in labelNames order; a name the metric does not have, or a missing one, is a programming error. */
  private valuesOf(labels: LabelValues<T> | undefined): string[] {
    const names = this.labelNames;
    let given = 0;
    for (const name in labels) {
      if (!names.includes(name)) throw new Error(`${this.name}: no label named "${name}" (labels: ${names.join(', ') || 'none'})`);
      given++;
    }
    if (given !== names.length) throw new Error(`${this.name}: ${given} label values for ${names.length} labels (${names.join(', ')})`);
    const values = new Array<string>(names.length);
    for (let i = 0; i < names.length; i++) values[i] = String((labels as Record<string, string | number>)[names[i] as string]);
    return values;
  }
}

/** A gauge: set(value) or set(labels, value), and inc for a running total. */
export class LabelledGauge<T extends string = never> extends LabelledMetric<T> {
  constructor(config: LabelledConfig<T>) {
    super(config, 'gauge');
  }

  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  set(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (typeof labelsOrValue === 'object') this.setValue(labelsOrValue, value as number);
    else this.setValue(undefined, labelsOrValue);
  }
}

/** A counter: inc(), inc(by), inc(labels) or inc(labels, by); it never goes down. */
export class LabelledCounter<T extends string = never> extends LabelledMetric<T> {
  constructor(config: LabelledConfig<T>) {
    super(config, 'counter');
  }

  inc(by?: number): void;
  inc(labels: LabelValues<T>, by?: number): void;
  inc(labelsOrBy?: LabelValues<T> | number, by?: number): void {
    const labels = typeof labelsOrBy === 'object' ? labelsOrBy : undefined;
    const n = (typeof labelsOrBy === 'object' ? by : labelsOrBy) ?? 1;
    if (n < 0 || Number.isNaN(n)) throw new Error(`${this.name}: a counter cannot be increased by ${n}`);
    this.addValue(labels, n);
  }
}
