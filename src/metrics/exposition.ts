import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';
import { SeriesFamily } from './series-family.js';
import { unpooled } from './unpooled.js';

/** prom-client's per-metric formatter: public on the class, absent from its type declarations. */
interface MetricFormatter {
  getMetricsAsString(metric: Metric): Promise<string>;
}

const BETWEEN = Buffer.from('\n\n');
const END = Buffer.from('\n');

/**
 * The same bytes as `registry.metrics()` (Prometheus text format 0.0.4) in UTF-8, but SeriesFamily
 * metrics contribute their ready bytes instead of being formatted series by series: a render
 * re-encodes only the small prom-client metrics (health, aggregates, histograms) and the
 * families that changed.
 */
export async function renderExposition(registry: Registry): Promise<Buffer> {
  const formatter = registry as unknown as MetricFormatter;
  const chunks: Buffer[] = [];
  for (const metric of registry.getMetricsAsArray() as unknown[]) {
    if (chunks.length > 0) chunks.push(BETWEEN);
    chunks.push(metric instanceof SeriesFamily ? metric.bytes() : Buffer.from(await formatter.getMetricsAsString(metric as Metric)));
  }
  chunks.push(END);
  return unpooled(Buffer.concat(chunks));
}
