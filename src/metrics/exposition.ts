import { Buffer } from 'node:buffer';
import type { Metric, Registry } from 'prom-client';
import { SeriesFamily } from './series-family.js';

/** prom-client's per-metric formatter: public on the class, absent from its type declarations. */
interface MetricFormatter {
  getMetricsAsString(metric: Metric): Promise<string>;
}

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
    } else text += between + (await formatter.getMetricsAsString(metric as Metric));
  }
  pushText(chunks, `${text}\n`);
  return chunks;
}
