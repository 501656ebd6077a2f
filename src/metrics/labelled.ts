import type { Registry } from 'prom-client';
import { RowFamily } from './series-family.js';

/** Label values by label name; every label of the metric must be given (prom-client would drop a missing one). */
export type LabelValues<T extends string> = Readonly<Record<T, string | number>>;

export interface LabelledConfig<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers: readonly Registry[];
}

/**
 * A gauge or counter that is set one label set at a time, as prom-client's are, kept as a series
 * family: its lines are written only after a value changed, and its series are two flat arrays.
 * A fleet target has some thirty such metrics (health, calls, disk) of a few series each; as
 * prom-client metrics, with the copy of its text a render kept, each was about 1 KiB, and every
 * render asked each one for a new array of sample objects. The text is what prom-client writes,
 * labels in labelNames order. Series are found by a linear search: these metrics have a handful.
 */
abstract class LabelledMetric<T extends string> extends RowFamily {
  protected constructor(config: LabelledConfig<T>, type: 'gauge' | 'counter') {
    super(config.name, config.help, type, config.labelNames ?? [], config.registers);
    this.reset();
  }

  /** Drops the series of `labels` (the only series, without labels). */
  remove(labels?: LabelValues<T>): void {
    const row = this.rowOf(labels);
    if (row >= 0) this.removeRow(row);
  }

  /** No series; a metric without labels has its one series at 0 again (as prom-client's reset). */
  reset(): void {
    this.clearRows();
    if (this.labelNames.length === 0) this.values = [0];
  }

  protected setValue(labels: LabelValues<T> | undefined, value: number): void {
    if (typeof value !== 'number') throw new TypeError(`${this.name}: value is not a number: ${String(value)}`);
    const row = this.rowOf(labels);
    if (row < 0) this.addRow(labels, value);
    else if (!Object.is(this.values[row], value)) {
      this.values[row] = value;
      this.changed();
    }
  }

  protected addValue(labels: LabelValues<T> | undefined, by: number): void {
    if (typeof by !== 'number') throw new TypeError(`${this.name}: increment is not a number: ${String(by)}`);
    const row = this.rowOf(labels);
    if (row < 0) this.addRow(labels, by);
    else if (by !== 0) {
      this.values[row] = (this.values[row] as number) + by;
      this.changed();
    }
  }

  /** New arrays of the exact size (push would leave room for 17 more): these metrics seldom gain a series. */
  private addRow(labels: LabelValues<T> | undefined, value: number): void {
    const names = this.labelNames as readonly T[];
    this.labelValues = this.labelValues.concat(names.map((name) => String((labels as LabelValues<T>)[name])));
    this.values = this.values.concat(value);
    this.changed();
  }

  /** The row of `labels`, or -1; a label the metric does not have, or a missing one, is a programming error. */
  private rowOf(labels: LabelValues<T> | undefined): number {
    const names = this.labelNames as readonly T[];
    const n = names.length;
    let given = 0;
    for (const name in labels) {
      if (!names.includes(name)) throw new Error(`${this.name}: no label named "${name}" (labels: ${names.join(', ') || 'none'})`);
      given++;
    }
    if (given !== n) throw new Error(`${this.name}: ${given} label values for ${n} labels (${names.join(', ')})`);
    const { labelValues, values } = this;
    search: for (let r = 0; r < values.length; r++) {
      for (let i = 0; i < n; i++) if (labelValues[r * n + i] !== String((labels as LabelValues<T>)[names[i] as T])) continue search;
      return r;
    }
    return -1;
  }
}

/** A gauge: set(value) or set(labels, value). */
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
