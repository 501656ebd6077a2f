import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Locates a Debian Prometheus tool. Tests that need one are skipped (by name, with this reason)
 * where it is absent, except in CI (REQUIRE_PROMETHEUS_TOOLS=1), where its absence is a failure.
 */
export function findTool(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  if (path) return path;
  if (process.env.REQUIRE_PROMETHEUS_TOOLS === '1') {
    throw new Error(`${name} is required (REQUIRE_PROMETHEUS_TOOLS=1) but not installed; apt-get install prometheus`);
  }
  return null;
}

/** Runs `promtool check metrics` on an exposition; returns its complaints ('' when clean). */
export function promtoolCheckMetrics(promtool: string, exposition: string): { ok: boolean; output: string } {
  try {
    const out = execFileSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { ok: true, output: out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}
