/** Parses a text exposition into `series → value`, where series is `name{labels}` exactly as printed. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** Series of one metric name, as `labels string → value`. */
export function seriesOf(samples: Map<string, number>, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of samples) {
    if (k === name) out.set('', v);
    else if (k.startsWith(`${name}{`)) out.set(k.slice(name.length), v);
  }
  return out;
}

/** The labels of a series key such as `{a="x",b="y \"q\""}` (or `name{…}`), unescaped. */
export function labelsOf(series: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = series.slice(series.indexOf('{') + 1, series.lastIndexOf('}'));
  const re = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;
  for (const m of body.matchAll(re)) {
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** One metric's series keyed by one label's value: `{ [labelValue]: value }`. */
export function byLabel(samples: Map<string, number>, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of seriesOf(samples, name)) {
    const value = labelsOf(k)[label];
    if (value !== undefined) out[value] = v;
  }
  return out;
}

/** Value of one exact series (`name{labels}`) in an exposition, or undefined. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
