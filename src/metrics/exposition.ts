import { Buffer } from 'node:buffer';
import { Registry, type Metric } from 'prom-client';
import { escapeHelp, escapeLabelValue, formatValue, SeriesFamily } from './series-family.js';

/** prom-client's per-metric formatter: public on the class, absent from its type declarations. */
interface MetricFormatter {
  getMetricsAsString(metric: Metric): Promise<string>;
  _defaultLabels: Record<string, unknown>;
  contentType: string;
}

interface MetricItem {
  name: string;
  help: string;
  type: string;
  values?: { value: number; labels?: Record<string, string | number>; metricName?: string; sharedLabels?: object; exemplar?: unknown }[];
}

/**
 * prom-client's text for one metric, the same bytes as its getMetricsAsString() without its
 * per-sample arrays, spread copies and label caches: for a fleet's thousand targets rendered every
 * 30 s, that formatter made a quarter of all the memory allocated. Default labels, shared labels,
 * exemplars and OpenMetrics are left to prom-client (the exporter uses none of them).
 */
async function formatMetric(registry: MetricFormatter, metric: Metric): Promise<string> {
  const withGetter = metric as unknown as { getForPromString?: () => Promise<MetricItem>; get: () => Promise<MetricItem> };
  const item = await (withGetter.getForPromString ? withGetter.getForPromString() : withGetter.get());
  let text = `# HELP ${item.name} ${escapeHelp(item.help)}\n# TYPE ${item.name} ${item.type}`;
  for (const v of item.values ?? []) {
    if (v.exemplar || (v.sharedLabels && Object.keys(v.sharedLabels).length > 0)) return registry.getMetricsAsString(metric);
    let labels = '';
    for (const name in v.labels) {
      const value = v.labels[name];
      labels += `${labels === '' ? '{' : ','}${name}="${typeof value === 'string' ? escapeLabelValue(value) : value}"`;
    }
    text += `\n${v.metricName ?? item.name}${labels === '' ? '' : `${labels}}`} ${formatValue(v.value)}`;
  }
  return text;
}

const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;

/** A text part of an exposition as a buffer of its own (see unpooled.ts); empty parts are dropped. */
function pushText(chunks: Buffer[], text: string): void {
  if (text === '') return;
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  buf.write(text);
  chunks.push(buf);
}

/**
 * The same bytes as `registry.metrics()` (Prometheus text format 0.0.4) in UTF-8, as chunks to be
 * written in a row. SeriesFamily metrics contribute their ready bytes, shared and not copied,
 * instead of being formatted series by series: a render re-encodes only the small prom-client
 * metrics (health, aggregates, histograms), one chunk for each run of them, and the families that
 * changed. A fleet keeps a thousand renders: one joined copy each would double their memory.
 */
export async function renderExposition(registry: Registry): Promise<Buffer[]> {
  const formatter = registry as unknown as MetricFormatter;
  const plainText = Object.keys(formatter._defaultLabels).length === 0 && formatter.contentType === PROMETHEUS_TEXT;
  const chunks: Buffer[] = [];
  let text = '';
  let first = true;
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    const between = first ? '' : '\n\n';
    first = false;
    if (metric instanceof SeriesFamily) {
      pushText(chunks, text + between);
      text = '';
      chunks.push(metric.bytes());
    } else text += between + (await (plainText ? formatMetric(formatter, metric as Metric) : formatter.getMetricsAsString(metric as Metric)));
  }
  pushText(chunks, `${text}\n`);
  return chunks;
}
