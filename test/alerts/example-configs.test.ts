// The example prometheus.yml and alertmanager.yml shipped in prometheus/ are valid.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { locateTools, runTool, titled } from '../helpers/prometheus-tools.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'prometheus');
const tools = locateTools('promtool', 'amtool');

describe(titled('example Prometheus and Alertmanager configuration', tools.skipReason), () => {
  it.skipIf(tools.skipReason)('promtool check config prometheus/prometheus.yml (loads alerts.yml)', () => {
    const r = runTool(tools.paths.promtool as string, ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
  });

  it.skipIf(tools.skipReason)('amtool check-config prometheus/alertmanager.yml', () => {
    const r = runTool(tools.paths.amtool as string, ['check-config', join(dir, 'alertmanager.yml')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});
