import { Buffer } from 'node:buffer';
import { Registry, type Metric } from 'prom-client';
import { escapeHelp, escapeLabelValue, formatValue, SeriesFamily } from './series-family.js';
import { sharedBytes } from './shared-text.js';
import { ownBuffer } from './unpooled.js';

/** prom-client's per-metric formatter: public on the class, absent from its type declarations. */
interface MetricFormatter {
  getMetricsAsString(metric: Metric): Promise<string>;
  _defaultLabels: Record<string, unknown>;
  contentType: string;
}

type Labels = Record<string, string | number>;

interface MetricSample {
  value: number;
  labels?: Labels;
  metricName?: string;
  sharedLabels?: object;
  exemplar?: unknown;
}

interface MetricItem {
  name: string;
  help: string;
  type: string;
  values?: MetricSample[];
}

/** A prom-client metric as last written: its bytes, and the samples they were written from. */
interface Written {
  help: string;
  /** `# HELP …\n# TYPE …`, one buffer shared by every target with the same text. */
  header: Buffer;
  /** The sample lines, each after a newline (empty without samples). */
  lines: Buffer;
  values: number[];
  names: (string | undefined)[];
  /** prom-client's own label objects (it never changes one; a new value may come with a new one). */
  labels: Labels[];
}

/**
 * What a renderer keeps of the prom-client metrics it wrote: a metric whose samples are the same
 * as at the last render (most health gauges, counters between increments) is not formatted again.
 * A fleet renders ≈ 50 targets a second, and formatting every prom-client metric anew made a
 * sixth of all the memory the process allocated, so a scavenge every few hundred milliseconds.
 */
export class WrittenMetrics {
  private readonly written = new WeakMap<object, Written>();

  /** The metric's chunks (header, lines), or null when prom-client must format it (exemplars, shared labels). */
  async chunks(metric: Metric): Promise<Buffer[] | null> {
    const getter = metric as unknown as { getForPromString?: () => Promise<MetricItem>; get: () => Promise<MetricItem> };
    const item = await (getter.getForPromString ? getter.getForPromString() : getter.get());
    const values = item.values ?? [];
    for (const v of values) if (v.exemplar || (v.sharedLabels && Object.keys(v.sharedLabels).length > 0)) return null;
    let w = this.written.get(metric);
    if (!w || !sameSamples(w, item.help, values)) {
      w = write(item, values);
      this.written.set(metric, w);
    }
    return w.lines.length === 0 ? [w.header] : [w.header, w.lines];
  }
}

function sameSamples(w: Written, help: string, values: readonly MetricSample[]): boolean {
  if (w.help !== help || w.values.length !== values.length) return false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as MetricSample;
    if (!Object.is(v.value, w.values[i]) || v.metricName !== w.names[i] || !sameLabels(v.labels, w.labels[i] as Labels)) return false;
  }
  return true;
}

function sameLabels(a: Labels | undefined, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

const NO_LABELS: Labels = Object.freeze({});

/** prom-client's text for one metric, the same bytes as its getMetricsAsString() (no default labels, exemplars or OpenMetrics). */
function write(item: MetricItem, values: readonly MetricSample[]): Written {
  let lines = '';
  for (const v of values) {
    let labels = '';
    for (const name in v.labels) {
      const value = v.labels[name];
      labels += `${labels === '' ? '{' : ','}${name}="${typeof value === 'string' ? escapeLabelValue(value) : value}"`;
    }
    lines += `\n${v.metricName ?? item.name}${labels === '' ? '' : `${labels}}`} ${formatValue(v.value)}`;
  }
  return {
    help: item.help,
    header: sharedBytes(`# HELP ${item.name} ${escapeHelp(item.help)}\n# TYPE ${item.name} ${item.type}`),
    lines: ownBuffer(lines),
    values: values.map((v) => v.value),
    names: values.map((v) => v.metricName),
    labels: values.map((v) => v.labels ?? NO_LABELS),
  };
}

const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;
const BETWEEN = ownBuffer('\n\n');
const END = ownBuffer('\n');

/**
 * The same bytes as `registry.metrics()` (Prometheus text format 0.0.4) in UTF-8, as chunks to be
 * written in a row. SeriesFamily metrics contribute their ready bytes, shared and not copied;
 * prom-client metrics are formatted here, or taken from `written` when their samples did not
 * change since its last render. Nothing is joined: a fleet keeps a thousand renders, and one
 * joined copy each would double their memory.
 */
export async function renderExposition(registry: Registry, written: WrittenMetrics = new WrittenMetrics()): Promise<Buffer[]> {
  const formatter = registry as unknown as MetricFormatter;
  const plainText = Object.keys(formatter._defaultLabels).length === 0 && formatter.contentType === PROMETHEUS_TEXT;
  const chunks: Buffer[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (chunks.length > 0) chunks.push(BETWEEN);
    if (metric instanceof SeriesFamily) {
      chunks.push(...metric.chunks());
      continue;
    }
    const own = plainText ? await written.chunks(metric as Metric) : null;
    if (own) chunks.push(...own);
    else chunks.push(ownBuffer(await formatter.getMetricsAsString(metric as Metric)));
  }
  chunks.push(END);
  return chunks;
}

/**
 * The same text as renderExposition() (and `registry.metrics()`), as one string that is not
 * kept: a fleet's compressed render (see RenderedExposition.compact). Families write their lines
 * anew instead of keeping them; prom-client metrics are formatted by prom-client.
 */
export async function renderExpositionText(registry: Registry): Promise<string> {
  const formatter = registry as unknown as MetricFormatter;
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (parts.length > 0) parts.push(''); // joined with newlines: the empty line between two metrics
    if (metric instanceof SeriesFamily) metric.writeText(parts);
    else parts.push(await formatter.getMetricsAsString(metric as Metric));
  }
  return `${parts.join('\n')}\n`;
}
