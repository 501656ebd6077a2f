import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { renderExposition } from '../../src/metrics/exposition.js';
import { LabelledCounter, LabelledGauge } from '../../src/metrics/labelled.js';

const rendered = async (registry: Registry): Promise<string> => Buffer.concat(await renderExposition(registry)).toString('utf8');

const VALUES = ['plain', 'Иван "Ваня" Петров', 'back\\slash', 'new\nline', '李小龍', ''];

/** A small deterministic random stream (the same operations on every run). */
function stream(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('LabelledGauge and LabelledCounter (prom-client metrics kept as series families)', () => {
  it('a gauge renders what a prom-client Gauge renders after the same sets, increments, removals and resets', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const config = { name: 'g', help: 'A gauge with a back\\slash\nand a newline.', labelNames: ['k', 'n'] as const };
    const gauge = new LabelledGauge<'k' | 'n'>({ ...config, registers: [ours] });
    const reference = new Gauge<'k' | 'n'>({ ...config, labelNames: ['k', 'n'], registers: [theirs] });
    const unlabelled = new LabelledGauge({ name: 'u', help: 'U.', registers: [ours] });
    const unlabelledReference = new Gauge({ name: 'u', help: 'U.', registers: [theirs] });
    const random = stream(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const numbers = [0, 1, -2.5, 1e21, 1.5e-7, NaN, Infinity, -Infinity, 1765432100.123];
    for (let step = 0; step < 400; step++) {
      const labels = { k: pick(VALUES), n: pick(['1', '2']) };
      const op = random();
      if (op < 0.6) {
        const v = pick(numbers);
        gauge.set(labels, v);
        reference.set(labels, v);
      } else if (op < 0.75) {
        gauge.remove(labels);
        reference.remove(labels);
      } else if (op < 0.8) {
        gauge.reset();
        reference.reset();
      } else if (op < 0.9) {
        const v = pick(numbers);
        unlabelled.set(v);
        unlabelledReference.set(v);
      } else if (op < 0.95) {
        unlabelled.remove();
        unlabelledReference.remove();
      } else {
        unlabelled.reset();
        unlabelledReference.reset();
      }
      if (step % 40 === 0) expect(await rendered(ours)).toBe(await theirs.metrics());
    }
    expect(await rendered(ours)).toBe(await theirs.metrics());
    expect(await ours.metrics()).toBe(await theirs.metrics()); // prom-client reads them through get()
  });

  it('a counter renders what a prom-client Counter renders, and refuses to go down', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new LabelledCounter<'endpoint' | 'code'>({ name: 'c_total', help: 'C.', labelNames: ['endpoint', 'code'], registers: [ours] });
    const reference = new Counter<'endpoint' | 'code'>({ name: 'c_total', help: 'C.', labelNames: ['endpoint', 'code'], registers: [theirs] });
    const plain = new LabelledCounter({ name: 'p_total', help: 'P.', registers: [ours] });
    const plainReference = new Counter({ name: 'p_total', help: 'P.', registers: [theirs] });
    expect(await rendered(ours)).toBe(await theirs.metrics()); // an unlabelled counter starts at 0, a labelled one empty
    for (const [endpoint, code, by] of [
      ['/a', '200', 1],
      ['/b', 'error', 0],
      ['/a', '200', 2.5],
      ['/c "q"', '429', 1],
    ] as const) {
      counter.inc({ endpoint, code }, by);
      reference.inc({ endpoint, code }, by);
    }
    counter.inc({ endpoint: '/b', code: 'error' });
    reference.inc({ endpoint: '/b', code: 'error' });
    plain.inc();
    plainReference.inc();
    plain.inc(3);
    plainReference.inc(3);
    counter.remove({ endpoint: '/a', code: '200' });
    reference.remove({ endpoint: '/a', code: '200' });
    expect(await rendered(ours)).toBe(await theirs.metrics());
    expect(() => counter.inc({ endpoint: '/a', code: '200' }, -1)).toThrow(/cannot be increased by -1/);
    expect(() => plain.inc(NaN)).toThrow(/cannot be increased/);
    counter.reset();
    reference.reset();
    plain.reset();
    plainReference.reset();
    expect(await rendered(ours)).toBe(await theirs.metrics());
  });

  it('keeps its lines while nothing changes, writes them again after a change, and shares its header between registries', () => {
    const a = new LabelledGauge<'collector'>({ name: 'ok', help: 'Same help.', labelNames: ['collector'], registers: [new Registry()] });
    const b = new LabelledGauge<'collector'>({ name: 'ok', help: 'Same help.', labelNames: ['collector'], registers: [new Registry()] });
    a.set({ collector: 'peers' }, 1);
    b.set({ collector: 'peers' }, 1);
    expect(a.chunks()[0]).toBe(b.chunks()[0]);
    expect(a.lines()).not.toBe(b.lines());
    const first = a.lines();
    a.set({ collector: 'peers' }, 1); // the same value again: a poll that changed nothing
    expect(a.lines()).toBe(first);
    a.set({ collector: 'peers' }, 0);
    expect(a.lines()).not.toBe(first);
    expect(a.lines().toString()).toBe('\nok{collector="peers"} 0');
    const counter = new LabelledCounter<'k'>({ name: 'c_total', help: 'C.', labelNames: ['k'], registers: [] });
    counter.inc({ k: 'x' }, 0);
    const zero = counter.lines();
    counter.inc({ k: 'x' }, 0);
    expect(counter.lines()).toBe(zero);
    counter.inc({ k: 'x' });
    expect(counter.lines().toString()).toBe('\nc_total{k="x"} 1');
  });

  it('refuses labels it does not have, missing labels and values that are not numbers', () => {
    const gauge = new LabelledGauge<'a' | 'b'>({ name: 'g', help: 'G.', labelNames: ['a', 'b'], registers: [] });
    expect(() => gauge.set({ a: 'x', c: 'y' } as unknown as { a: string; b: string }, 1)).toThrow(/no label named "c"/);
    expect(() => gauge.set({ a: 'x' } as unknown as { a: string; b: string }, 1)).toThrow(/1 label values for 2 labels/);
    expect(() => gauge.set({ a: 'x', b: 'y' }, '1' as unknown as number)).toThrow(TypeError);
    gauge.set({ a: 1, b: 'y' }, 2); // a number as a label value is written as text, as prom-client does
    expect(gauge.lines().toString()).toBe('\ng{a="1",b="y"} 2');
  });
});
