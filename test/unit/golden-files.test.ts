import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { promtoolCheckMetrics, toolOrSkip } from '../helpers/tools.js';

const dir = fileURLToPath(new URL('../golden/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.prom'));

// The golden files are what the exporter serves, byte for byte: each must be a valid exposition.
describe('golden expositions', () => {
  const promtool = toolOrSkip('promtool');
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.skipIf(!promtool).each(files)('%s passes promtool check metrics', (file) => {
    const r = promtoolCheckMetrics(promtool as string, readFileSync(dir + file, 'utf8'));
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });
});
