// Reproduces the image's build stage without a Docker engine: the files its COPY instructions
// take from the build context, then its RUN commands verbatim, on Node 24, with an empty npm
// cache in a temporary folder. Shows that the build works with install scripts skipped (so the
// `node` devDependency never fetches its own runtime) and produces dist/main.js.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerfile, repoRoot, runtimeStage, type Stage } from './dockerfile.js';

const stages = readDockerfile();
const runtime = runtimeStage(stages);
const stageProviding = (what: string): Stage => {
  const copy = runtime.copies.find((c) => c.sources.some((s) => s.endsWith(what)));
  const stage = stages.find((s) => s.name === copy?.from);
  if (!stage) throw new Error(`no stage provides ${what}`);
  return stage;
};

/** Runs a stage's COPY (from the build context) and RUN steps in `dir`; returns the RUN results. */
function reproduce(stage: Stage, dir: string, cacheDir: string) {
  for (const copy of stage.copies) {
    if (copy.from !== undefined) throw new Error('COPY --from in a build stage is not reproduced here');
    for (const source of copy.sources) {
      const target = copy.destination.endsWith('/') ? join(dir, copy.destination, source) : join(dir, copy.destination);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(repoRoot, source), target, { recursive: true });
    }
  }
  const env = {
    // The machine's npm settings (registry, CA) stay; the cache is a fresh one in the temp folder.
    ...process.env,
    // Node 24 first, as in the image; npm and tsc find `node` through PATH. No node_modules/.bin
    // of this checkout: the stage must find its tools in what it installed itself.
    PATH: [dirname(process.execPath), ...(process.env.PATH ?? '').split(':').filter((p) => p && !p.includes('node_modules'))].join(':'),
    npm_config_cache: join(cacheDir, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
  const results: { command: string; status: number | null; output: string }[] = [];
  for (const command of stage.runs) {
    const r = spawnSync('sh', ['-c', command], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
    results.push({ command, status: r.status, output: `${r.stdout}${r.stderr}` });
    if (r.status !== 0) break; // as docker build does
  }
  return results;
}

describe('container build stages (reproduced without Docker)', () => {
  let work: string;
  let build: ReturnType<typeof reproduce>;
  let deps: ReturnType<typeof reproduce>;
  const buildDir = () => join(work, 'build');
  const depsDir = () => join(work, 'deps');

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'mikopbx-build-'));
    mkdirSync(buildDir());
    mkdirSync(depsDir());
    build = reproduce(stageProviding('dist'), buildDir(), work);
    deps = reproduce(stageProviding('node_modules'), depsDir(), work);
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs every RUN of the build stage successfully', () => {
    expect(build.length).toBe(stageProviding('dist').runs.length);
    for (const r of build) expect(r.status, `${r.command}\n${r.output}`).toBe(0);
  });

  it('compiles dist/main.js', () => {
    expect(existsSync(join(buildDir(), 'dist', 'main.js'))).toBe(true);
  });

  it('never installs the runtime of the `node` devDependency', () => {
    expect(existsSync(join(buildDir(), 'node_modules', 'typescript')), 'dev dependencies are installed').toBe(true);
    expect(existsSync(join(buildDir(), 'node_modules', '.bin', 'node'))).toBe(false);
    expect(existsSync(join(buildDir(), 'node_modules', 'node', 'bin', 'node'))).toBe(false);
  });

  it('installs only production dependencies in the stage the runtime takes node_modules from', () => {
    expect(deps.length).toBe(stageProviding('node_modules').runs.length);
    for (const r of deps) expect(r.status, `${r.command}\n${r.output}`).toBe(0);
    expect(existsSync(join(depsDir(), 'node_modules', 'prom-client'))).toBe(true);
    expect(existsSync(join(depsDir(), 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(depsDir(), 'node_modules', 'node'))).toBe(false);
  });
});
