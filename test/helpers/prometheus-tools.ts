// Locating and running promtool, Prometheus and Alertmanager for tests.
//
// A missing binary skips the suites that need it (the reason is in the suite name and printed),
// except with REQUIRE_PROMETHEUS_TOOLS=1 (set by CI), where it fails the test file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export type ToolName = 'promtool' | 'prometheus' | 'alertmanager' | 'amtool';

const CANDIDATES: Record<ToolName, { env: string; names: string[] }> = {
  promtool: { env: 'PROMTOOL_BIN', names: ['promtool'] },
  prometheus: { env: 'PROMETHEUS_BIN', names: ['prometheus'] },
  // Debian names the binary prometheus-alertmanager; upstream tarballs call it alertmanager.
  alertmanager: { env: 'ALERTMANAGER_BIN', names: ['prometheus-alertmanager', 'alertmanager'] },
  amtool: { env: 'AMTOOL_BIN', names: ['amtool'] },
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of a tool: $<TOOL>_BIN if set, else the first candidate name on PATH. */
export function findTool(tool: ToolName): string | undefined {
  const { env, names } = CANDIDATES[tool];
  const override = process.env[env];
  if (override) return isExecutable(override) ? override : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

export function toolsRequired(): boolean {
  return process.env.REQUIRE_PROMETHEUS_TOOLS === '1';
}

export interface LocatedTools {
  paths: Partial<Record<ToolName, string>>;
  /** Set when some tool is missing and the suite must be skipped; names what is missing. */
  skipReason: string | undefined;
}

/**
 * Finds the given tools. Missing ones give a skipReason, or throw (failing the test file) when
 * REQUIRE_PROMETHEUS_TOOLS=1.
 */
export function locateTools(...tools: ToolName[]): LocatedTools {
  const paths: Partial<Record<ToolName, string>> = {};
  const missing: string[] = [];
  for (const t of tools) {
    const p = findTool(t);
    if (p) paths[t] = p;
    else missing.push(`${CANDIDATES[t].names.join(' or ')} (or $${CANDIDATES[t].env})`);
  }
  if (missing.length === 0) return { paths, skipReason: undefined };
  const reason = `not installed: ${missing.join(', ')}`;
  if (toolsRequired()) {
    throw new Error(`REQUIRE_PROMETHEUS_TOOLS=1 but ${reason}; install the Debian packages prometheus and prometheus-alertmanager`);
  }
  console.warn(`SKIPPED: ${reason} (apt-get install prometheus prometheus-alertmanager)`);
  return { paths, skipReason: reason };
}

/** Suite title with the skip reason appended, so the skip is visible in the report by name. */
export function titled(title: string, skipReason: string | undefined): string {
  return skipReason ? `${title} [SKIPPED: ${skipReason}]` : title;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(path: string, args: string[], cwd?: string, input?: string): RunResult {
  const r = spawnSync(path, args, { cwd, input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** A child process with its output kept for diagnostics. */
export class ManagedProcess {
  readonly child: ChildProcess;
  output = '';
  exited = false;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      this.output += b.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('exit', () => {
      this.exited = true;
    });
  }

  /** Last lines of output, for failure messages. */
  tail(lines = 30): string {
    return `--- ${this.name} output (last ${lines} lines) ---\n${this.output.split('\n').slice(-lines).join('\n')}`;
  }

  /** SIGTERM, then SIGKILL after graceMs. Only this process, by its own handle. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited || this.child.exitCode !== null) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
  }
}

async function httpOk(url: string): Promise<true | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok ? true : undefined;
}

export interface RunningServer {
  url: string;
  port: number;
  dir: string;
  proc: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts Prometheus on 127.0.0.1 with its own temp dir; extraFiles are written beside the config. */
export function startPrometheus(opts: { binary: string; configYaml: string; extraFiles?: Record<string, string>; args?: string[] }): Promise<RunningServer> {
  return startServer('prometheus', opts.binary, 'mikopbx-prom-', { 'prometheus.yml': opts.configYaml, ...opts.extraFiles }, (dir) => [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    ...(opts.args ?? []),
  ]);
}

/** Starts Alertmanager on 127.0.0.1 with clustering off and its own temp dir. */
export function startAlertmanager(opts: { binary: string; configYaml: string }): Promise<RunningServer> {
  return startServer('alertmanager', opts.binary, 'mikopbx-am-', { 'alertmanager.yml': opts.configYaml }, (dir) => [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    // An empty address disables the gossip cluster (it would bind 0.0.0.0:9094).
    '--cluster.listen-address=',
  ]);
}

/** Writes the files into a fresh temp dir, starts the server on a free loopback port, waits for /-/ready. */
async function startServer(
  name: string,
  binary: string,
  prefix: string,
  files: Record<string, string>,
  args: (dir: string) => string[],
): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  const port = await freePort();
  const proc = new ManagedProcess(name, binary, [...args(dir), `--web.listen-address=127.0.0.1:${port}`], { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `${name} /-/ready`,
      async () => {
        if (proc.exited) throw new Error(`${name} exited\n${proc.tail()}`);
        return httpOk(`${url}/-/ready`);
      },
      20_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n${proc.tail()}`, { cause: err });
  }
  return { url, port, dir, proc, stop };
}

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PromQueryResult {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: PromSample[] | [number, string];
}

/** Instant query via /api/v1/query; throws with Prometheus' error text on any error. */
export async function promQuery(baseUrl: string, expr: string, time?: number): Promise<PromQueryResult> {
  const body = new URLSearchParams({ query: expr });
  if (time !== undefined) body.set('time', String(time));
  const res = await fetch(`${baseUrl}/api/v1/query`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  const json = (await res.json()) as { status: string; data?: PromQueryResult; error?: string; errorType?: string };
  if (json.status !== 'success' || !json.data) {
    throw new Error(`query failed (${json.errorType ?? res.status}): ${json.error ?? 'no data'}\n  ${expr}`);
  }
  return json.data;
}

/** Range query via /api/v1/query_range; throws with Prometheus' error text on any error. */
export async function promQueryRange(baseUrl: string, expr: string, start: number, end: number, step: number): Promise<PromQueryResult> {
  const body = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
  const res = await fetch(`${baseUrl}/api/v1/query_range`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  const json = (await res.json()) as { status: string; data?: PromQueryResult; error?: string; errorType?: string };
  if (json.status !== 'success' || !json.data) {
    throw new Error(`range query failed (${json.errorType ?? res.status}): ${json.error ?? 'no data'}\n  ${expr}`);
  }
  return json.data;
}

/** Number of series (vector/matrix) or 1 for a scalar/string result. */
export function resultSize(r: PromQueryResult): number {
  if (r.resultType === 'scalar' || r.resultType === 'string') return 1;
  return (r.result as PromSample[]).length;
}
