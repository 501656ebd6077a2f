import type { Registry } from 'prom-client';
import type { RenderedExposition } from '../metrics/rendered.js';
import { unpooled } from '../metrics/unpooled.js';
import { deflateFinal, deflateOpen, gzipSpliced, type OpenDeflate } from './gzip-splice.js';

export interface MetricsBodyOptions {
  /** The target's last rendered exposition (a new object per render). */
  exposition: () => RenderedExposition;
  /** The exporter's process metrics, appended to the target's; absent for a fleet's /probe. */
  processRegistry?: Registry;
  /** How long rendered process metrics are reused (default 1 s; Prometheus scrapes every 15 s or more). */
  processMaxAgeMs?: number;
  now?: () => number;
}

interface ProcessPart {
  at: number;
  bytes: Buffer;
  deflated: Buffer | null;
}

/** The process part of a body that has none (a fleet's /probe): empty, and never stale. */
const NO_PROCESS_PART: ProcessPart = { at: Infinity, bytes: Buffer.alloc(0), deflated: null };

/**
 * The /metrics body as chunks to write: the target's exposition, rendered once per completed poll,
 * followed by the exporter's own process metrics, rendered at most once per processMaxAgeMs.
 * Scrapes allocate nothing big: the target's bytes are written as they are, and compressed once
 * per render. Once a client has asked for gzip (Prometheus always does), each new render is
 * compressed as soon as it is announced (rendered()), so scrapes find it ready instead of
 * waiting for it.
 */
export class MetricsBody {
  private process: ProcessPart | null = null;
  private processRendering: Promise<ProcessPart> | null = null;
  private compressed: { source: RenderedExposition; part: Promise<OpenDeflate>; done: OpenDeflate | null } | null = null;
  /** The last gzip answer as one buffer: scrapes between two renders (of either part) send it as is. */
  private gzipAnswer: { source: RenderedExposition; proc: ProcessPart; bytes: Buffer } | null = null;
  private gzipAsked = false;
  private readonly now: () => number;

  constructor(private readonly opts: MetricsBodyOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A new render is out: compress it ahead of the next gzip scrape, if there are gzip scrapers. */
  rendered(exposition: RenderedExposition): void {
    // The last answer is of an older render: it will not be sent again, so it need not be kept.
    if (this.gzipAnswer?.source !== exposition) this.gzipAnswer = null;
    if (this.gzipAsked && !this.compactAnswer(exposition)) void this.targetDeflated(exposition).catch(() => undefined);
  }

  /** A compact render is the whole gzip answer when there is no process part (a fleet's /probe). */
  private compactAnswer(target: RenderedExposition): Buffer | null {
    return this.opts.processRegistry ? null : target.gzip;
  }

  /**
   * The answer's chunks when both parts are ready (the common case: no promise, no allocation),
   * else null and chunks() prepares them.
   */
  ready(gzip: boolean): Buffer[] | null {
    const target = this.opts.exposition();
    const proc = this.freshProcess();
    if (!proc) return null;
    if (!gzip) return [...target.chunks, proc.bytes];
    const compact = this.compactAnswer(target);
    if (compact) return [compact];
    const answer = this.gzipAnswer;
    if (answer?.source === target && answer.proc === proc) return [answer.bytes];
    const head = this.compressed?.source === target ? this.compressed.done : null;
    return head ? [this.assembleGzip(target, head, proc)] : null;
  }

  /** Chunks of the answer; with gzip, one gzip member (see gzip-splice.ts). */
  async chunks(gzip: boolean): Promise<Buffer[]> {
    this.gzipAsked ||= gzip;
    const ready = this.ready(gzip);
    if (ready) return ready;
    const target = this.opts.exposition();
    const [proc, head] = await Promise.all([this.processPart(), gzip ? this.targetDeflated(target) : null]);
    if (!head) return [...target.chunks, proc.bytes];
    return [this.assembleGzip(target, head, proc)];
  }

  /** One buffer per pair of parts: a write of one buffer beats four, and the CRC is done once. */
  private assembleGzip(source: RenderedExposition, head: OpenDeflate, proc: ProcessPart): Buffer {
    const cached = this.gzipAnswer;
    if (cached?.source === source && cached.proc === proc) return cached.bytes;
    proc.deflated ??= deflateFinal(proc.bytes);
    const bytes = unpooled(Buffer.concat(gzipSpliced(head, proc.bytes, proc.deflated)));
    this.gzipAnswer = { source, proc, bytes };
    // Without a process part (a fleet's /probe) the answer never changes until the next render:
    // the compressed part it holds need not be kept a second time.
    if (proc === NO_PROCESS_PART && this.compressed?.source === source) this.compressed = null;
    return bytes;
  }

  /** The compressed target part of this render, compressed on first use. */
  private targetDeflated(target: RenderedExposition): Promise<OpenDeflate> {
    if (this.compressed?.source !== target) {
      const part = deflateOpen(target.joined());
      const entry: { source: RenderedExposition; part: Promise<OpenDeflate>; done: OpenDeflate | null } = { source: target, part, done: null };
      this.compressed = entry;
      part.then(
        (done) => {
          entry.done = done;
        },
        () => {
          if (this.compressed === entry) this.compressed = null; // let the next scrape try again
        },
      );
    }
    return this.compressed.part;
  }

  /** The rendered process metrics if younger than processMaxAgeMs. */
  private freshProcess(): ProcessPart | null {
    if (!this.opts.processRegistry) return NO_PROCESS_PART;
    const cached = this.process;
    return cached && this.now() - cached.at < (this.opts.processMaxAgeMs ?? 1000) ? cached : null;
  }

  /** Process metrics, re-rendered when older than processMaxAgeMs; concurrent scrapes share one render. */
  private processPart(): Promise<ProcessPart> {
    if (!this.opts.processRegistry) return Promise.resolve(NO_PROCESS_PART);
    const cached = this.freshProcess();
    if (cached) return Promise.resolve(cached);
    this.processRendering ??= this.renderProcess().finally(() => {
      this.processRendering = null;
    });
    return this.processRendering;
  }

  private async renderProcess(): Promise<ProcessPart> {
    const text = await (this.opts.processRegistry as Registry).metrics();
    const part: ProcessPart = { at: this.now(), bytes: Buffer.from(text), deflated: null };
    this.process = part;
    return part;
  }
}
