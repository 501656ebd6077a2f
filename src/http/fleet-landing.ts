const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface FleetLandingRow {
  name: string;
  host: string;
  state: string;
  api: string | null;
  labels: Record<string, string>;
}

/** The page at `/` in fleet mode: this replica's targets, their state, and where their metrics are. */
export function renderFleetLanding(info: { version: string; targets: FleetLandingRow[] }): string {
  const rows = info.targets
    .map((t) => {
      const labels = Object.entries(t.labels)
        .map(([k, v]) => `${esc(k)}=${esc(v)}`)
        .join(', ');
      const link = `probe?target=${encodeURIComponent(t.name)}`;
      return `<tr><td><a href="${esc(link)}">${esc(t.name)}</a></td><td>${esc(t.host)}</td><td class="${esc(t.state)}">${esc(t.state)}</td><td>${esc(t.api ?? 'not detected yet')}</td><td>${labels}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MikoPBX Exporter (fleet)</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.up{color:#080}.down,.backing_off{color:#b00}</style>
</head><body>
<h1>MikoPBX Exporter (fleet)</h1>
<p>Version ${esc(info.version)}; ${info.targets.length} target${info.targets.length === 1 ? '' : 's'} on this replica.</p>
<ul><li><a href="targets">Targets (Prometheus http_sd)</a></li><li><a href="metrics">Exporter metrics</a></li><li><a href="healthz">Health</a></li><li><a href="readyz">Readiness</a></li></ul>
<h2>Targets</h2>
<table><tr><th>target</th><th>PBX</th><th>state</th><th>API</th><th>labels</th></tr>
${rows}
</table>
</body></html>
`;
}
