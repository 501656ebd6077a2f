import { readFileSync } from 'node:fs';

function readVersion(): string {
  // dist/version.js and src/version.ts sit one level below package.json; the demo's copy
  // (dist-sim/src/version.js) two levels.
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'mikopbx-exporter' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not there: try the next level
    }
  }
  return 'unknown';
}

export const VERSION = readVersion();
