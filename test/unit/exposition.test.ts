import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../src/http/accept-encoding.js';
import { crc32, deflateFinal, deflateOpen, gzipSpliced } from '../../src/http/gzip-splice.js';
import { MetricsBody } from '../../src/http/metrics-body.js';
import { renderExposition } from '../../src/metrics/exposition.js';
import { RegistryRenderer } from '../../src/metrics/rendered.js';
import { LabelledCounter, LabelledGauge } from '../../src/metrics/labelled.js';
import { CounterFamily, GaugeFamily, HistogramFamily } from '../../src/metrics/series-family.js';

/** The render as one string. */
const rendered = async (registry: Registry): Promise<string> => Buffer.concat(await renderExposition(registry)).toString('utf8');

const TRICKY = ['plain', 'Иван "Ваня" Петров', 'back\\slash', 'new\nline', '李小龍', ''];

function registryWithEverything(): { registry: Registry; family: GaugeFamily } {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({ name: 'a_gauge', help: 'A gauge with a back\\slash\nand a newline in its help.', registers }).set(1.5);
  const family = new GaugeFamily('b_family', 'Per-object series.', ['id', 'name'], registers);
  family.replace(TRICKY.map((name, i) => [[String(i), name], i === 0 ? NaN : i === 1 ? Infinity : i === 2 ? -Infinity : i * 0.25]));
  const counter = new Counter({ name: 'c_total', help: 'A counter.', labelNames: ['k'], registers });
  for (const k of TRICKY) counter.inc({ k }, 2);
  const histogram = new Histogram({ name: 'd_seconds', help: 'A histogram.', labelNames: ['direction'], buckets: [1, 5], registers });
  histogram.observe({ direction: 'inbound' }, 3);
  new GaugeFamily('e_empty', 'A family without series.', ['id'], registers);
  new GaugeFamily('f_unlabelled', 'A family without labels.', [], registers).replace([[[], 7]]);
  return { registry, family };
}

describe('renderExposition and GaugeFamily', () => {
  it('render exactly the bytes prom-client renders for the same registry', async () => {
    const { registry } = registryWithEverything();
    expect(await rendered(registry)).toBe(await registry.metrics());
  });

  it('render like prom-client also what is left to prom-client: default labels (a registry without families)', async () => {
    const labelled = new Registry();
    labelled.setDefaultLabels({ site: 'hq "1"' });
    new Gauge({ name: 'g', help: 'G.', labelNames: ['k'], registers: [labelled] }).set({ k: 'v' }, 2);
    expect(await rendered(labelled)).toBe(await labelled.metrics());
    expect(await rendered(labelled)).toContain('g{k="v",site="hq \\"1\\""} 2\n');
  });

  it('render families as their own bytes, shared and not copied, and every other part as a buffer of its own', async () => {
    const { registry, family } = registryWithEverything();
    const chunks = await renderExposition(registry);
    expect(chunks).toContain(family.lines());
    // a family is its header and its lines: b_family (2), e_empty (header only), f_unlabelled (2); a
    // prom-client metric is its text (a_gauge, c_total, d_seconds: 1 each); a separator between
    // each two, and the final newline
    expect(chunks).toHaveLength(14);
    for (const c of chunks) expect(c.byteOffset === 0 && c.buffer.byteLength === c.length).toBe(true); // no slice pinning a pool block
  });

  it('replace() replaces every series, and prom-client sees the family through get()', async () => {
    const { registry, family } = registryWithEverything();
    family.replace([[['9', 'only one'], 1]]);
    const text = await rendered(registry);
    expect(text).toContain('b_family{id="9",name="only one"} 1\n');
    expect(text).not.toContain('b_family{id="0"');
    expect(text).toBe(await registry.metrics());
    expect((await family.get()).values).toEqual([{ value: 1, labels: { id: '9', name: 'only one' } }]);
    registry.resetMetrics();
    expect(await rendered(registry)).toContain('# TYPE b_family gauge\n\n');
  });

  it('a CounterFamily renders as a prom-client Counter fed the same increments and removals', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const family = new CounterFamily('calls_total', 'Calls.', ['provider', 'disposition'], [ours]);
    const counter = new Counter({ name: 'calls_total', help: 'Calls.', labelNames: ['provider', 'disposition'], registers: [theirs] });
    const ops: [string, string, number][] = [
      ['SIP-1', 'answered', 0],
      ['SIP-2', 'busy', 0],
      ['SIP-1', 'answered', 1],
      ['IAX-"q"', 'failed', 2],
      ['SIP-2', 'busy', 1],
    ];
    for (const [provider, disposition, by] of ops) {
      family.inc([provider, disposition], by);
      counter.inc({ provider, disposition }, by);
    }
    family.remove(['SIP-2', 'busy']);
    counter.remove({ provider: 'SIP-2', disposition: 'busy' });
    family.inc(['SIP-2', 'busy'], 0);
    counter.inc({ provider: 'SIP-2', disposition: 'busy' }, 0);
    const text = await rendered(ours);
    expect(text).toBe(await theirs.metrics());
    expect(text).toBe(await ours.metrics());
    family.inc(['SIP-1', 'answered']); // a change after a render is rendered again
    expect(await rendered(ours)).toContain('calls_total{provider="SIP-1",disposition="answered"} 2\n');
  });

  it('a CounterFamily of many series (searched through an index) renders as a prom-client Counter after the same operations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const family = new CounterFamily('trunk_calls_total', 'Calls.', ['provider', 'disposition'], [ours]);
    const counter = new Counter({ name: 'trunk_calls_total', help: 'Calls.', labelNames: ['provider', 'disposition'], registers: [theirs] });
    let seed = 11;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let step = 0; step < 5000; step++) {
      const provider = `SIP-${Math.floor(random() * 200)}`;
      const disposition = ['answered', 'busy', 'failed'][Math.floor(random() * 3)] as string;
      if (random() < 0.05) {
        family.remove([provider, disposition]);
        counter.remove({ provider, disposition });
      } else {
        family.inc([provider, disposition], step % 3);
        counter.inc({ provider, disposition }, step % 3);
      }
      if (step % 1000 === 999) expect(await rendered(ours)).toBe(await theirs.metrics());
    }
    expect((await family.get()).values.length).toBeGreaterThan(256); // past the point where rows are indexed
    expect(() => family.inc(['SIP-1'])).toThrow(/1 label values for 2 label names/);
  });

  it('a HistogramFamily renders as a prom-client Histogram fed the same observations, zeros and resets', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const buckets = [0.5, 5, 10, 14400];
    const family = new HistogramFamily('call_seconds', 'Calls.', ['direction', 'name'], buckets, [ours]);
    const histogram = new Histogram({ name: 'call_seconds', help: 'Calls.', labelNames: ['direction', 'name'], buckets, registers: [theirs] });
    const bare = new HistogramFamily('bare_seconds', 'No labels.', [], [1], [ours]);
    const theirBare = new Histogram({ name: 'bare_seconds', help: 'No labels.', buckets: [1], registers: [theirs] });
    family.zero(['outbound', 'x']);
    histogram.zero({ direction: 'outbound', name: 'x' });
    // on a bound (counted in it), between bounds, past the last bound, fractions, a tricky label value
    for (const v of [5, 0.5, 7.25, 14400, 14401, 0]) {
      family.observe(['inbound', 'Иван "Ваня"\\'], v);
      histogram.observe({ direction: 'inbound', name: 'Иван "Ваня"\\' }, v);
    }
    bare.observe([], 0.3);
    theirBare.observe(0.3);
    expect(await rendered(ours)).toBe(await theirs.metrics());
    expect(await rendered(ours)).toBe(await ours.metrics()); // prom-client formats our get() the same way
    expect(await rendered(ours)).toContain('call_seconds_bucket{le="14400",direction="inbound",name="Иван \\"Ваня\\"\\\\"} 5\n');
    expect(() => family.observe(['inbound', 'x'], NaN)).toThrow(/not a finite number/);
    expect(() => family.observe(['inbound'], 1)).toThrow(/1 label values for 2/);
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await rendered(ours)).toBe(await theirs.metrics());
  });

  it('replace() with the same rows keeps the bytes already written; any change writes them again', () => {
    const family = new GaugeFamily('up', 'Up.', ['extension'], []);
    family.replace([
      [['201'], 1],
      [['202'], 0],
    ]);
    const first = family.lines();
    family.replace([
      [['201'], 1],
      [['202'], 0],
    ]);
    expect(family.lines()).toBe(first);
    for (const rows of [
      [
        [['201'], 1],
        [['202'], 1],
      ],
      [
        [['201'], 1],
        [['203'], 1],
      ],
      [[['201'], 1]],
      [[['201'], NaN]],
    ] as [string[], number][][]) {
      const before = family.lines();
      family.replace(rows);
      expect(family.lines()).not.toBe(before);
    }
    family.replace([[['201'], NaN]]);
    expect(family.lines().toString()).toContain('up{extension="201"} Nan');
  });

  it('refuses a row with the wrong number of label values', () => {
    const family = new GaugeFamily('x', 'x', ['a', 'b'], []);
    expect(() => family.replace([[['only a'], 1]])).toThrow(/1 label values for 2 label names/);
  });
});

describe('gzip splicing', () => {
  it('the table CRC-32 fallback agrees with zlib', async () => {
    const data = randomBytes(10_000);
    const { crc } = await deflateOpen(data);
    expect(crc).toBe(zlib.crc32(data));
    expect(crc32(data.subarray(5000), crc32(data.subarray(0, 5000)))).toBe(zlib.crc32(data));
  });

  it('a spliced member decodes to head then tail, also with empty parts', async () => {
    for (const [head, tail] of [
      [Buffer.from('# HELP a\n'.repeat(1000)), Buffer.from('process 1\n')],
      [Buffer.alloc(0), Buffer.from('process 1\n')],
      [Buffer.from('target\n'), Buffer.alloc(0)],
      [Buffer.alloc(0), Buffer.alloc(0)],
    ] as const) {
      const member = Buffer.concat(gzipSpliced(await deflateOpen(head), tail, deflateFinal(tail)));
      expect(zlib.gunzipSync(member).equals(Buffer.concat([head, tail]))).toBe(true);
    }
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
    ['x-gzip', true],
    ['*', true],
    ['GZIP', true],
    ['gzip;q=0', false],
    ['gzip;q=0, *', false],
    ['*;q=0', false],
    ['identity', false],
    ['br, deflate', false],
    ['', false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });

  it('no header means no gzip; repeated headers are read together', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip(['br', 'gzip'])).toBe(true);
  });
});

describe('compact renders (fleet mode): only a gzip member is kept', () => {
  it('the gzip member decodes to the plain render, and /probe sends the member itself', async () => {
    const { registry, family } = registryWithEverything();
    const plain = Buffer.concat(await renderExposition(registry));
    const renderer = new RegistryRenderer(registry, true);
    await renderer.render();
    const exposition = renderer.current();
    expect(zlib.gunzipSync(exposition.gzip as Buffer)).toEqual(plain);
    expect(exposition.length).toBe(plain.length);
    expect(exposition.text).toBe(await registry.metrics());
    expect(exposition.chunks).toHaveLength(1); // no text chunks kept: the one chunk is unpacked on demand
    expect(exposition.gzip?.buffer).toBeInstanceOf(SharedArrayBuffer); // the scrape front's thread reads these very bytes
    expect(exposition.gzip?.buffer.byteLength).toBe(exposition.gzip?.length); // and nothing else: no pool block pinned
    const body = new MetricsBody({ exposition: () => renderer.current() });
    expect(body.ready(true)?.[0]).toBe(exposition.gzip); // the very buffer: nothing assembled, nothing copied
    expect(Buffer.concat(body.ready(false) as Buffer[])).toEqual(plain); // others get it unpacked
    family.replace([[['1', 'new'], 2]]);
    await renderer.render();
    expect(body.ready(true)?.[0]).toBe(renderer.current().gzip);
    expect(zlib.gunzipSync(renderer.current().gzip as Buffer).toString()).toContain('b_family{id="1",name="new"} 2\n');
    expect((family as unknown as { encoded: unknown }).encoded).toBeNull(); // the family kept no lines of its own
  });

  it('compact renders of any size decode to what prom-client renders (the reused input buffer grows and is overwritten)', async () => {
    const big = new Registry();
    const family = new GaugeFamily('big_family', 'Many series.', ['id', 'name'], [big]);
    family.replace(Array.from({ length: 3000 }, (_, i) => [[String(i), `${TRICKY[i % TRICKY.length]} ${i}`], i / 7] as const));
    const labelled = new LabelledGauge<'k'>({ name: 'labelled', help: 'L.', labelNames: ['k'], registers: [big] });
    labelled.set({ k: 'a' }, 1);
    const small = new Registry();
    new LabelledCounter({ name: 'small_total', help: 'S.', registers: [small] }).inc(2);
    for (const registry of [small, big, small, big]) {
      const renderer = new RegistryRenderer(registry, true);
      await renderer.render();
      const text = zlib.gunzipSync(renderer.current().gzip as Buffer).toString();
      expect(text).toBe(await registry.metrics());
      expect(renderer.current().length).toBe(Buffer.byteLength(text));
    }
    expect(Buffer.byteLength(await big.metrics())).toBeGreaterThan(128 * 1024);
  });

  it('a plain render keeps the families’ bytes, and a gzip answer is dropped once a newer render is out', async () => {
    const { registry, family } = registryWithEverything();
    const renderer = new RegistryRenderer(registry);
    await renderer.render();
    expect(renderer.current().gzip).toBeNull();
    expect(renderer.current().chunks).toContain(family.lines());
    const body = new MetricsBody({ exposition: () => renderer.current() });
    renderer.onRender((e) => body.rendered(e));
    await body.chunks(true);
    const kept = (): unknown => (body as unknown as { gzipAnswer: unknown }).gzipAnswer;
    expect(kept()).not.toBeNull();
    family.replace([[['1', 'new'], 2]]);
    await renderer.render();
    expect(kept()).toBeNull(); // the old answer (and the old render it points to) is not kept until the next scrape
  });
});
