import { fork, type ChildProcess } from 'node:child_process';
import type { ChildCommand, ChildReply, StepResult } from './protocol.ts';

/** The exporter under test as a child process, driven over IPC. */
export class ExporterProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private stderr = '';
  readonly port: Promise<number>;

  /** `nodeFlags`: V8/Node flags for the exporter process (the ones it is deployed with). */
  constructor(env: NodeJS.ProcessEnv, nodeFlags: string[] = []) {
    this.child = fork(new URL('./exporter-child.mjs', import.meta.url), { env, execArgv: nodeFlags, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-20_000);
    });
    this.port = new Promise((resolve, reject) => {
      this.waiting.set(0, { resolve: (r) => resolve((r as { port: number }).port), reject });
    });
    this.child.on('message', (msg: ChildReply) => {
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(`exporter process: ${msg.error}`));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`exporter process exited (${code})\n${this.stderr}`));
      this.waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the exporter logged (warnings and errors), for the report. */
  get log(): string {
    return this.stderr;
  }

  send<T>(command: ChildCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, command });
    });
  }

  step(cmd: 'tick' | 'status-poll' | 'cdr-poll', clock: number): Promise<StepResult> {
    return this.send<StepResult>({ cmd, clock });
  }

  rss(): Promise<number> {
    return this.send<NodeJS.MemoryUsage>({ cmd: 'memory' }).then((m) => m.rss);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.send({ cmd: 'stop' }).catch(() => undefined);
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }
}
