// Static checks of the Dockerfile and .dockerignore (no Docker engine needed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDockerfile, repoRoot, runtimeStage } from './dockerfile.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };
const stages = readDockerfile();
const runtime = runtimeStage(stages);

function lint(path?: string) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'lint-dockerfile.mjs'), ...(path ? [path] : [])], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('Dockerfile lint (npm run lint:docker)', () => {
  it('is wired as an npm script', () => {
    expect(pkg.scripts['lint:docker']).toBe('node scripts/lint-dockerfile.mjs');
  });

  it('passes on the project Dockerfile', () => {
    const r = lint();
    expect(r.output).toContain('no problems');
    expect(r.status).toBe(0);
  });

  it('fails on a Dockerfile with the usual mistakes, naming each rule', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockerlint-'));
    try {
      const bad = join(dir, 'Dockerfile');
      writeFileSync(bad, ['FROM node:latest', 'workdir app', 'ADD . /app', 'RUN npm install', 'USER root', 'CMD node dist/main.js', ''].join('\n'));
      const r = lint(bad);
      expect(r.status).toBe(1);
      for (const rule of ['DL3007', 'DL3020', 'DL3025', 'DL3002', 'npm-ci', 'oci-labels', 'expose', 'dockerfile-utils']) {
        expect(r.output).toContain(rule);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  it('builds in stages on the official Node 24 (LTS) image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.image).toMatch(/^node:24-(alpine|slim|bookworm-slim|trixie-slim)[\w.]*$/);
    const build = stages.find((s) => s.runs.some((r) => r.includes('npm run build')));
    expect(build, 'a stage runs npm run build').toBeDefined();
    expect(build!.runs.some((r) => /npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
  });

  it('ships production dependencies only, installed with npm ci --omit=dev', () => {
    const nodeModules = runtime.copies.find((c) => c.sources.some((s) => s.endsWith('node_modules')));
    expect(nodeModules?.from).toBeDefined();
    const deps = stages.find((s) => s.name === nodeModules!.from);
    expect(deps?.runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    // The runtime stage itself installs and builds nothing.
    expect(runtime.runs).toEqual([]);
  });

  it('copies only dist/, node_modules/, package.json and package-lock.json into the runtime stage', () => {
    const targets = runtime.copies.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '')));
    expect(new Set(targets)).toEqual(new Set(['node_modules', 'dist', 'package.json', 'package-lock.json']));
  });

  it('runs as a numeric non-root user', () => {
    expect(runtime.user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(runtime.user!.split(':')[0])).toBeGreaterThan(0);
  });

  it('sets NODE_ENV=production, WORKDIR, EXPOSE 10745 and CMD node (with the young-generation flag of npm start) dist/main.js', () => {
    expect(runtime.env.NODE_ENV).toBe('production');
    expect(runtime.workdir).toMatch(/^\//);
    expect(runtime.expose).toEqual(['10745']);
    expect(runtime.cmd).toEqual(['node', '--max-semi-space-size=8', 'dist/main.js']);
    // npm start (and so the benchmark, which runs the exporter with these flags) runs the same.
    expect(pkg.scripts.start).toBe((runtime.cmd ?? []).join(' '));
  });

  it('has OCI labels with the package version and the MIT licence', () => {
    expect(runtime.labels['org.opencontainers.image.version']).toBe(pkg.version);
    expect(runtime.labels['org.opencontainers.image.licenses']).toBe('MIT');
    expect(runtime.labels['org.opencontainers.image.title']).toBe('mikopbx-exporter');
    expect(runtime.labels['org.opencontainers.image.description']).toMatch(/MikoPBX/);
    expect(runtime.labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
  });

  it('has a HEALTHCHECK that needs nothing but node', () => {
    expect(runtime.healthcheck?.cmd[0]).toBe('node');
  });

  it('skips install scripts, so the `node` devDependency never downloads a second runtime', () => {
    for (const stage of stages) {
      for (const run of stage.runs.filter((r) => /npm ci\b/.test(r))) expect(run).toContain('--ignore-scripts');
    }
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('is an allow-list of exactly what the Dockerfile copies from the build context', () => {
    expect(lines[0]).toBe('*');
    const allowed = lines.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, ''));
    const copied = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources));
    expect(new Set(allowed)).toEqual(new Set(copied));
  });
});
