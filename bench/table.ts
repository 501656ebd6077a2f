/** One row of the result table; `met` is undefined where there is no target. */
export interface Row {
  measure: string;
  exporter: string;
  promClient?: string;
  nginx?: string;
  target?: string;
  met?: boolean;
}

/** The result table, as Markdown (so it pastes into docs/performance.md as it is). */
export function renderTable(rows: readonly Row[], judged: boolean): string {
  const header = ['measure', 'mikopbx-exporter', 'prom-client per scrape', 'nginx, same bytes', 'target', judged ? 'verdict' : 'verdict (smoke: not judged)'];
  const lines = [header, header.map(() => '---')];
  for (const r of rows) {
    const verdict = r.met === undefined ? '' : r.met ? 'met' : '**missed**';
    lines.push([r.measure, r.exporter, r.promClient ?? '', r.nginx ?? '', r.target ?? '', verdict]);
  }
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export const ms = (v: number): string => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : 'n/a');
export const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
export const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
