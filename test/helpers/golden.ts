import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/**
 * Compares `actual` with the golden file `test/golden/<name>`. A missing golden file is a failure,
 * never silently recreated; `UPDATE_GOLDEN=1 npx vitest run <test>` rewrites it on purpose.
 */
export function expectGolden(actual: string, name: string): void {
  const path = fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `golden file ${path} is missing (create it with UPDATE_GOLDEN=1)`).toBe(true);
  expect(actual, `differs from golden ${name} (UPDATE_GOLDEN=1 rewrites it after review)`).toBe(readFileSync(path, 'utf8'));
}
