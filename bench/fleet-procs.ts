// The two processes of a fleet phase: the simulated fleet (bench/fleet-sim-child.mjs) and the
// exporter exactly as it ships (`node dist/main.js` with TARGETS_FILE), and what /proc says of it.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ROOT } from './util.ts';

/** The pinned Node of the npm scripts (what the Docker image runs), else this one. */
const NODE = existsSync(`${ROOT}node_modules/.bin/node`) ? `${ROOT}node_modules/.bin/node` : process.execPath;

export interface SimFleetReady {
  path: string;
  names: string[];
  legacy: number;
  startSeconds: number;
  rss: number;
}

/** Waits for `child` to exit, killing it after `graceMs`. */
async function exited(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(kill);
}

export class SimFleetProcess {
  private readonly child: ChildProcess;
  readonly ready: SimFleetReady;

  private constructor(child: ChildProcess, ready: SimFleetReady) {
    this.child = child;
    this.ready = ready;
  }

  /** `options`: SimFleetOptions as JSON; the targets file goes into `dir`. */
  static async start(options: object, dir: string): Promise<SimFleetProcess> {
    const child = fork(new URL('./fleet-sim-child.mjs', import.meta.url), {
      env: { PATH: process.env.PATH, BENCH_FLEET_SIM: JSON.stringify(options), BENCH_FLEET_DIR: dir },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-10_000)));
    const ready = await new Promise<SimFleetReady>((resolve, reject) => {
      child.once('message', (m) => resolve(m as SimFleetReady));
      child.once('exit', (code) => reject(new Error(`simulated fleet exited (${code}) before it was ready\n${stderr}`)));
    });
    return new SimFleetProcess(child, ready);
  }

  async stop(): Promise<void> {
    if (this.child.connected) this.child.send({ cmd: 'stop' });
    await exited(this.child, 10_000);
  }
}

/** A port free now (the exporter has no way to report the one it got for LISTEN_PORT=0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class ExporterMain {
  private readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;

  private constructor(child: ChildProcess, port: number, logFile: string) {
    this.child = child;
    this.port = port;
    this.logFile = logFile;
  }

  /** `env`: the settings; stdout and stderr go to `logFile`. */
  static async start(env: Record<string, string>, nodeFlags: string[], logFile: string): Promise<ExporterMain> {
    const port = await freePort();
    const fd = openSync(logFile, 'a');
    const child = spawn(NODE, [...nodeFlags, 'dist/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: String(port), ...env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const exporter = new ExporterMain(child, port, logFile);
    await exporter.healthy(30_000);
    return exporter;
  }

  get pid(): number {
    return this.child.pid ?? NaN;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async healthy(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`exporter exited (${this.child.exitCode}); log: ${this.logFile}\n${this.logTail()}`);
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > end) throw new Error(`exporter not healthy after ${timeoutMs} ms; log: ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Warnings and errors it logged (LOG_LEVEL=warn), by level. */
  logLevels(): { warn: number; error: number; first: string | undefined } {
    const lines = readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean);
    const of = (level: string) => lines.filter((l) => l.includes(`"level":"${level}"`));
    return { warn: of('warn').length, error: of('error').length + of('fatal').length, first: of('error')[0] ?? of('warn')[0] };
  }

  logTail(): string {
    return readFileSync(this.logFile, 'utf8').slice(-3000);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await exited(this.child, 8000);
  }
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's times. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) the process has used; NaN without /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm) ": state is field 3, utime 14, stime 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes (VmRSS); NaN without /proc. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
