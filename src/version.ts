import { readFileSync } from 'node:fs';

function readVersion(): string {
  // dist/version.js and src/version.ts both sit one level below package.json.
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VERSION = readVersion();
