import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';
import { SeriesFamily } from './series-family.js';
import { ownBuffer } from './unpooled.js';

/** prom-client's per-metric formatter: public on the class, absent from its type declarations. */
interface MetricFormatter {
  getMetricsAsString(metric: Metric): Promise<string>;
}

const BETWEEN = ownBuffer('\n\n');
const END = ownBuffer('\n');

/**
 * The same bytes as `registry.metrics()` (Prometheus text format 0.0.4) in UTF-8, as chunks to be
 * written in a row. SeriesFamily metrics (every per-PBX metric) contribute their kept bytes,
 * shared and not copied; any prom-client metric is formatted by prom-client. Nothing is joined:
 * a scrape writes the chunks as they are.
 */
export async function renderExposition(registry: Registry): Promise<Buffer[]> {
  const formatter = registry as unknown as MetricFormatter;
  const chunks: Buffer[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (chunks.length > 0) chunks.push(BETWEEN);
    if (metric instanceof SeriesFamily) chunks.push(...metric.chunks());
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
