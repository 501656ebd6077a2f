import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { byLabel, parseExposition } from './exposition.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIST_MAIN = `${ROOT}dist/main.js`;
export const distBuilt = () => existsSync(DIST_MAIN);

export interface ExporterProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every stdout/stderr line so far. */
  lines: string[];
  metrics(): Promise<{ text: string; samples: Map<string, number> }>;
  get(path: string): Promise<Response>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The exporter's view, rebuilt from its /metrics: the page, its samples, mikopbx_up and the registered trunks. */
export async function observed(exporter: ExporterProcess) {
  const { text, samples } = await exporter.metrics();
  return { text, samples, up: samples.get('mikopbx_up'), registered: byLabel(samples, 'mikopbx_provider_registered', 'provider') };
}

/** Starts the built exporter (`node dist/main.js`) as a real process and waits until it listens. */
export async function startExporterProcess(env: Record<string, string>, timeoutMs = 15_000): Promise<ExporterProcess> {
  const child = spawn(process.execPath, [DIST_MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`exporter did not start:\n${lines.join('\n')}`)), timeoutMs);
    const check = setInterval(() => {
      for (const l of lines) {
        const m = /"port":(\d+).*mikopbx-exporter listening/.exec(l);
        if (m) {
          clearInterval(check);
          clearTimeout(deadline);
          resolve(Number(m[1]));
        }
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(deadline);
      reject(new Error(`exporter exited with ${code}:\n${lines.join('\n')}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    port,
    lines,
    get: (path) => fetch(url + path),
    async metrics() {
      const text = await (await fetch(`${url}/metrics`)).text();
      return { text, samples: parseExposition(text) };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 8000))]);
      if (code === null && child.exitCode === null) child.kill('SIGKILL');
      return code;
    },
  };
}

/** Polls `fn` until it returns true (or throws at the deadline with the last error). */
export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
