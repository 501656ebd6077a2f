import type { Registry } from 'prom-client';
import type { RenderedExposition } from '../target.js';
import { deflateFinal, deflateOpen, gzipSpliced, type OpenDeflate } from './gzip-splice.js';

export interface MetricsBodyOptions {
  /** The target's last rendered exposition (a new object per render). */
  exposition: () => RenderedExposition;
  processRegistry: Registry;
  /** How long rendered process metrics are reused (default 1 s; Prometheus scrapes every 15 s or more). */
  processMaxAgeMs?: number;
  now?: () => number;
}

interface ProcessPart {
  at: number;
  bytes: Buffer;
  deflated: Buffer | null;
}

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
  private compressed: { source: RenderedExposition; part: Promise<OpenDeflate> } | null = null;
  private gzipAsked = false;
  private readonly now: () => number;

  constructor(private readonly opts: MetricsBodyOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A new render is out: compress it ahead of the next gzip scrape, if there are gzip scrapers. */
  rendered(exposition: RenderedExposition): void {
    if (this.gzipAsked) void this.targetDeflated(exposition).catch(() => undefined);
  }

  /** Chunks of the answer; with gzip, one gzip member (see gzip-splice.ts). */
  async chunks(gzip: boolean): Promise<Buffer[]> {
    this.gzipAsked ||= gzip;
    const target = this.opts.exposition();
    const [proc, head] = await Promise.all([this.processPart(), gzip ? this.targetDeflated(target) : null]);
    if (!head) return [target.bytes, proc.bytes];
    proc.deflated ??= deflateFinal(proc.bytes);
    return gzipSpliced(head, proc.bytes, proc.deflated);
  }

  /** The compressed target part of this render, compressed on first use. */
  private targetDeflated(target: RenderedExposition): Promise<OpenDeflate> {
    if (this.compressed?.source !== target) {
      const part = deflateOpen(target.bytes);
      const entry = { source: target, part };
      this.compressed = entry;
      part.catch(() => {
        if (this.compressed === entry) this.compressed = null; // let the next scrape try again
      });
    }
    return this.compressed.part;
  }

  /** Process metrics, re-rendered when older than processMaxAgeMs; concurrent scrapes share one render. */
  private processPart(): Promise<ProcessPart> {
    const maxAge = this.opts.processMaxAgeMs ?? 1000;
    const cached = this.process;
    if (cached && this.now() - cached.at < maxAge) return Promise.resolve(cached);
    this.processRendering ??= this.renderProcess().finally(() => {
      this.processRendering = null;
    });
    return this.processRendering;
  }

  private async renderProcess(): Promise<ProcessPart> {
    const text = await this.opts.processRegistry.metrics();
    const part: ProcessPart = { at: this.now(), bytes: Buffer.from(text), deflated: null };
    this.process = part;
    return part;
  }
}
