import type { CollectorResult } from '../target/collector-run.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface LandingInfo {
  version: string;
  api: string | null;
  ready: boolean;
  /** intervalSeconds is the effective interval; configuredSeconds what the configuration asked for. */
  collectors: Array<{ name: string; result: CollectorResult | undefined; intervalSeconds: number; configuredSeconds: number }>;
}

/** The small HTML page at `/`. Shows no URL credentials, keys or passwords, only results. */
export function renderLanding(info: LandingInfo): string {
  const rows = info.collectors
    .map(({ name, result, intervalSeconds, configuredSeconds }) => {
      const state = !result ? 'not run yet' : result.success ? 'ok' : 'failed';
      const when = result ? new Date(result.at).toISOString() : '';
      const dur = result ? `${result.durationSeconds.toFixed(3)} s` : '';
      const err = result?.error ? esc(result.error) : '';
      const schedule =
        intervalSeconds === configuredSeconds
          ? `every ${intervalSeconds} s`
          : `every ${intervalSeconds} s (configured ${configuredSeconds} s; stretched to fit MIKOPBX_MAX_REQUESTS_PER_MINUTE)`;
      return `<tr><td>${esc(name)}</td><td>${schedule}</td><td class="${state.replace(/ /g, '-')}">${state}</td><td>${when}</td><td>${dur}</td><td>${err}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MikoPBX Exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.ok{color:#080}.failed{color:#b00}</style>
</head><body>
<h1>MikoPBX Exporter</h1>
<p>Version ${esc(info.version)}; API ${esc(info.api ?? 'not detected yet')}; ${info.ready ? 'ready' : 'starting'}.</p>
<ul><li><a href="metrics">Metrics</a></li><li><a href="healthz">Health</a></li><li><a href="readyz">Readiness</a></li></ul>
<h2>Collectors</h2>
<table><tr><th>collector</th><th>schedule</th><th>last result</th><th>finished</th><th>duration</th><th>error</th></tr>
${rows}
</table>
</body></html>
`;
}
