/**
 * Whether an Accept-Encoding header allows gzip: `gzip` (or `x-gzip`) with q > 0, else `*` with
 * q > 0. Prometheus sends plain `gzip`, which takes the fast path.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === 'gzip') return true;
  let wildcard = false;
  for (const item of value.split(',')) {
    const [coding = '', ...params] = item.split(';');
    const name = coding.trim().toLowerCase();
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (name !== '*') return allowed;
    wildcard = allowed;
  }
  return wildcard;
}
