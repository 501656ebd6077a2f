// The built exporter in fleet mode as a process: a bad targets file at start is one clear line
// naming the file and line, and exit code 2, like every other configuration error.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST_MAIN, distBuilt, ROOT } from '../helpers/exporter-process.js';

describe.skipIf(!distBuilt())('fleet mode at start (dist/main.js)', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [DIST_MAIN], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', LISTEN_PORT: '0', ...env }, encoding: 'utf8', timeout: 15_000 });

  it('refuses a bad targets file with one line naming file and line, exit code 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-start-'));
    const file = join(dir, 'targets.yaml');
    writeFileSync(file, 'targets:\n  - name: ok\n    url: https://a.example\n  - name: ok\n    url: https://b.example\n');
    const r = run({ TARGETS_FILE: file });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `mikopbx-exporter: invalid configuration: TARGETS_FILE (${file}) line 4: targets[1].name repeats the name ok of targets[0] (names must be unique)`,
    ]);
  });

  it('refuses MIKOPBX_URL beside TARGETS_FILE and a SHARD beyond its count', () => {
    expect(run({ TARGETS_FILE: '/nonexistent.yaml', MIKOPBX_URL: 'https://x.example' }).stderr).toMatch(/MIKOPBX_URL must not be set with TARGETS_FILE/);
    const r = run({ TARGETS_FILE: '/nonexistent.yaml', SHARD: '2/2' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/SHARD index 2 is not below the shard count 2/);
  });

  it('paces the heap for a fleet (--heap-growing-percent=50), keeping a value the operator gave', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-start-'));
    const file = join(dir, 'targets.yaml');
    // A PBX that refuses connections: the exporter starts and serves all the same.
    writeFileSync(file, 'auth_modules:\n  k: { api_key_env: K }\ntargets:\n  - name: down\n    url: http://127.0.0.1:1\n    auth: k\n');
    const started = (flags: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [...flags, DIST_MAIN], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', LISTEN_PORT: '0', LISTEN_ADDRESS: '127.0.0.1', TARGETS_FILE: file, K: 'k'.repeat(64) },
        });
        let out = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('listening (fleet mode)')) child.kill('SIGTERM');
        });
        child.on('error', reject);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve(out);
        });
      });
    const v8Of = (log: string) => log.split('\n').flatMap((l) => (l.includes('the heap grows') ? [(JSON.parse(l) as { v8: string }).v8] : []));
    const plain = await started([]);
    expect(v8Of(plain)).toEqual(['--heap-growing-percent=50']);
    expect(plain).toMatch(/"probes":"worker thread".*listening \(fleet mode\)/);
    expect(v8Of(await started(['--heap-growing-percent=80']))).toEqual(['--heap-growing-percent=80 (given)']);
  });
});
