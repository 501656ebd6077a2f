// Reproduces the image's runtime stage without a Docker engine: a production-only install of
// exactly the files the Dockerfile copies, started with the image's CMD, ENV, WORKDIR and USER
// (when the tests run as root), with the app directory read-only, against a fake PBX on loopback.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerfile, repoRoot, runtimeStage } from './dockerfile.js';

const stages = readDockerfile();
const runtime = runtimeStage(stages);
const distMain = join(repoRoot, 'dist', 'main.js');

const API_KEY = 'a'.repeat(64);
const asRoot = process.getuid?.() === 0;
const [uid, gid] = (runtime.user ?? '').split(':').map(Number);

/** The `npm ci …` command of the stage that produces the runtime's node_modules (without `&& npm cache clean`). */
function depsInstallArgs(): string[] {
  const copy = runtime.copies.find((c) => c.sources.some((s) => s.endsWith('node_modules')));
  const stage = stages.find((s) => s.name === copy?.from);
  const run = stage?.runs.find((r) => /npm ci\b/.test(r));
  const command = run
    ?.split('&&')
    .map((part) => part.trim())
    .find((part) => part.startsWith('npm ci'));
  if (!command) throw new Error('no `npm ci` in the stage that provides node_modules');
  return command.split(/\s+/).slice(1);
}

function npmCommand(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  return execPath && execPath.endsWith('.js') ? [process.execPath, [execPath]] : ['npm', []];
}

/** Whether every directory from `dir` up to / lets others through (mode o+x), as the image user needs. */
function reachableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function fakePbx(): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET' && req.url?.startsWith('/pbxcore/api/v3/system:ping')) {
      res.end(JSON.stringify({ result: true, data: [], messages: [] }));
    } else {
      res.statusCode = 401;
      res.end(JSON.stringify({ result: false, data: [], messages: { error: ['Not authorized'] } }));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

// npm test builds dist/ before vitest runs; a missing build is a failure, not a skip.
describe('container runtime stage (reproduced without Docker)', () => {
  let work: string;
  let app: string;
  let pbx: Server;
  let exporter: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let base: string;
  let output = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  // The image's /usr/local/bin/node: a copy in the work folder, because the runtime under npm
  // (node_modules/node/bin/node) may lie in a private folder the image user cannot enter.
  let node: string;
  let dropToImageUser = false;

  beforeAll(async () => {
    if (!existsSync(distMain)) throw new Error(`${distMain} is missing: run npm run build (npm test does)`);
    work = mkdtempSync(join(tmpdir(), 'mikopbx-image-'));
    chmodSync(work, 0o755);
    app = join(work, 'app');
    mkdirSync(app);
    mkdirSync(join(work, 'bin'));
    node = join(work, 'bin', 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    accessSync(node, constants.X_OK);
    dropToImageUser = asRoot && uid !== undefined && reachableByOthers(work);
    if (asRoot && !dropToImageUser) {
      console.warn(`docker-runtime: ${work} is not reachable by UID ${uid} (a parent folder lacks o+x); the exporter runs as root here`);
    }
    // The build context files the runtime stage copies, then the deps stage's install.
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(repoRoot, file), join(app, file));
    const [npm, pre] = npmCommand();
    const install = spawnSync(npm, [...pre, ...depsInstallArgs(), '--cache', join(work, 'npm-cache')], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(install.status, `npm ci failed:\n${install.stderr}`).toBe(0);
    rmSync(join(work, 'npm-cache'), { recursive: true, force: true });
    expect(existsSync(join(app, 'node_modules', 'typescript')), 'no devDependencies in the image').toBe(false);
    expect(existsSync(join(app, 'node_modules', 'node')), 'no `node` devDependency in the image').toBe(false);
    cpSync(join(repoRoot, 'dist'), join(app, 'dist'), { recursive: true });

    // Read-only for the exporter's user, as under readOnlyRootFilesystem.
    const lock = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        const st = statSync(path);
        if (st.isDirectory()) lock(path);
        chmodSync(path, st.isDirectory() || st.mode & 0o111 ? 0o555 : 0o444);
      }
    };
    lock(app);
    chmodSync(app, 0o555);

    const keyFile = join(work, 'api-key');
    writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o444 });
    pbx = await fakePbx();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      PATH: `${join(work, 'bin')}:${process.env.PATH ?? ''}`,
      HOME: '/nonexistent',
      ...runtime.env,
      MIKOPBX_URL: `http://127.0.0.1:${(pbx.address() as AddressInfo).port}`,
      MIKOPBX_API_KEY_FILE: keyFile,
      LISTEN_ADDRESS: '127.0.0.1',
      LISTEN_PORT: String(port),
    };
    const [cmd, ...args] = runtime.cmd ?? [];
    expect(cmd).toBe('node');
    exporter = spawn(node, args, {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(dropToImageUser ? { uid, gid: gid ?? uid } : {}),
    });
    exporter.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    exporter.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exit = new Promise((resolve) => exporter.on('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exporter.exitCode !== null) throw new Error(`exporter exited with ${exporter.exitCode}:\n${output}`);
      try {
        if ((await get(`${base}/healthz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`exporter did not answer /healthz within 20 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 180_000);

  afterAll(async () => {
    if (exporter && exporter.exitCode === null && exporter.signalCode === null) exporter.kill('SIGKILL');
    await new Promise((resolve) => (pbx ? pbx.close(resolve) : resolve(undefined)));
    if (work) {
      chmodSync(work, 0o755);
      rmSync(work, { recursive: true, force: true, maxRetries: 2 });
    }
  });

  it('runs as the image user when the tests run as root', () => {
    expect(exporter.exitCode).toBeNull();
    if (!dropToImageUser || !existsSync(`/proc/${exporter.pid}/status`)) return;
    const uids = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${exporter.pid}/status`, 'utf8'));
    expect(Number(uids?.[1])).toBe(uid);
    expect(uid).toBeGreaterThan(0);
  });

  it('answers /healthz with 200', async () => {
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });

  it('turns ready once the first polls have finished, although the PBX refuses the key', async () => {
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await get(`${base}/readyz`)).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status, output).toBe(200);
  }, 30_000);

  it('serves /metrics in the Prometheus text format', async () => {
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^mikopbx_up /m);
    expect(metrics.body).not.toContain(API_KEY);
  });

  it('passes the image HEALTHCHECK command', () => {
    const [cmd, ...args] = runtime.healthcheck!.cmd;
    expect(cmd).toBe('node');
    const r = spawnSync(node, args, { cwd: app, env, encoding: 'utf8', timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
  });

  it('exits 0 within 5 s of SIGTERM', async () => {
    const started = Date.now();
    exporter.kill('SIGTERM');
    const result = await Promise.race([exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
    expect(result, output).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails the HEALTHCHECK once the exporter is gone', () => {
    const [, ...args] = runtime.healthcheck!.cmd;
    const r = spawnSync(node, args, { cwd: app, env, encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
  });
});
