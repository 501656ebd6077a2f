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
