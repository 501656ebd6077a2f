import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { RenderedExposition } from '../metrics/rendered.js';
import type { FromFront, FrontSettings, ToFront } from './probe-front-worker.js';

// The worker runs as built next to this module (.js), or from the sources in tests (.ts).
const WORKER = new URL(`./probe-front-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** What the front needs of a target: its renders. */
export interface FrontedTarget {
  exposition(): RenderedExposition;
  onRender(listener: (exposition: RenderedExposition) => void): void;
}

export interface ProbeFrontOptions {
  host: string;
  port: number;
  /** The port of the exporter's own server on 127.0.0.1, where everything but ready probes goes. */
  upstreamPort: number;
  logger: Logger;
  /** Wait before a crashed front is started again. */
  restartDelayMs?: number;
}

/**
 * Fleet mode's listening socket, served by a worker thread (probe-front-worker.ts) that answers
 * ready gzip probes itself and passes the rest to the main thread. This side follows the targets
 * and posts each new compressed render to it. Should the thread die, it is started again on the
 * same port with every target's last render.
 */
export class ProbeFront {
  private worker: Worker;
  private readonly followed = new Map<string, FrontedTarget>();
  private closing: Promise<void> | null = null;
  private exited = false;
  private lastProxyError = 0;

  private constructor(
    private readonly opts: ProbeFrontOptions,
    worker: Worker,
    readonly port: number,
  ) {
    this.worker = worker;
    this.watch(worker);
  }

  static async start(opts: ProbeFrontOptions): Promise<ProbeFront> {
    const { worker, port } = await spawnFront({ host: opts.host, port: opts.port, upstreamPort: opts.upstreamPort });
    return new ProbeFront(opts, worker, port);
  }

  /** Serves `name` from `target`'s renders from now on (a target restarted under the same name replaces the old one). */
  follow(name: string, target: FrontedTarget): void {
    this.followed.set(name, target);
    this.post(name, target.exposition());
    target.onRender((exposition) => {
      if (this.followed.get(name) === target) this.post(name, exposition);
    });
  }

  /** `target` left the fleet: its name is no longer answered from the front. */
  unfollow(name: string, target: FrontedTarget): void {
    if (this.followed.get(name) !== target) return;
    this.followed.delete(name);
    this.send({ kind: 'forget', name });
  }

  /** Stops listening; busy connections get graceMs to finish. */
  close(graceMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.exited) {
        resolve();
        return;
      }
      const worker = this.worker;
      const force = setTimeout(() => void worker.terminate(), graceMs + 2000);
      worker.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      this.send({ kind: 'close', graceMs });
    });
    return this.closing;
  }

  private post(name: string, exposition: RenderedExposition): void {
    // Only compact renders carry a gzip answer; a target not yet polled is left to the main thread.
    if (exposition.gzip) this.send({ kind: 'answer', name, gzip: exposition.gzip });
    else this.send({ kind: 'forget', name });
  }

  private send(message: ToFront): void {
    this.worker.postMessage(message);
  }

  private watch(worker: Worker): void {
    worker.on('message', (m: FromFront) => {
      // One line a minute at most: a stuck main thread would otherwise log every scrape.
      if (m.kind === 'proxy-error' && Date.now() - this.lastProxyError > 60_000) {
        this.lastProxyError = Date.now();
        this.opts.logger.error(`scrape front: the exporter's own server did not answer a request passed on to it: ${m.message}`);
      }
    });
    worker.on('error', (e) => this.opts.logger.error({ err: e }, 'scrape front: the worker thread failed'));
    worker.once('exit', (code) => {
      if (worker !== this.worker) return;
      this.exited = true;
      if (this.closing) return;
      this.opts.logger.error({ code }, `scrape front: the worker thread stopped (exit code ${code}); starting it again on port ${this.port}`);
      setTimeout(() => void this.restart(), this.opts.restartDelayMs ?? 1000).unref();
    });
  }

  private async restart(): Promise<void> {
    if (this.closing) return;
    try {
      const { worker } = await spawnFront({ host: this.opts.host, port: this.port, upstreamPort: this.opts.upstreamPort });
      if (this.closing) {
        await worker.terminate();
        return;
      }
      this.worker = worker;
      this.exited = false;
      this.watch(worker);
      for (const [name, target] of this.followed) this.post(name, target.exposition());
      this.opts.logger.info({ port: this.port }, 'scrape front: listening again');
    } catch (e) {
      this.opts.logger.error({ err: e }, 'scrape front: could not start again; trying again');
      setTimeout(() => void this.restart(), this.opts.restartDelayMs ?? 1000).unref();
    }
  }
}

/** A front worker, resolved once it listens (rejected with the listen error, e.g. EADDRINUSE). */
function spawnFront(settings: FrontSettings): Promise<{ worker: Worker; port: number }> {
  return new Promise((resolve, reject) => {
    // A small young generation: the thread keeps a map of buffers and answers requests, and the
    // process-wide --max-semi-space-size would give it as much as the main thread.
    const worker = new Worker(WORKER, { workerData: settings, name: 'scrape-front', resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    const onExit = (code: number) => reject(new Error(`scrape front exited with code ${code} before listening`));
    worker.once('exit', onExit);
    worker.once('error', reject);
    worker.once('message', (m: FromFront) => {
      worker.off('exit', onExit);
      worker.off('error', reject);
      if (m.kind === 'listening') {
        resolve({ worker, port: m.port });
        return;
      }
      void worker.terminate();
      const detail = m.kind === 'failed' ? m.message : m.kind;
      const error = Object.assign(new Error(`listening on ${settings.host}:${settings.port} failed: ${detail}`), {
        code: m.kind === 'failed' ? m.code : undefined,
      });
      reject(error);
    });
  });
}
