import zlib from 'node:zlib';
import type { Registry } from 'prom-client';
import { renderExposition, renderExpositionText } from './exposition.js';

/**
 * One rendered exposition (UTF-8); a new object per render, so it can key caches derived from it.
 * A plain render keeps the chunks renderExposition() wrote; a compact one keeps only a gzip member
 * of them (a fleet's /probe: Prometheus always asks for gzip) and unpacks it for anyone else.
 */
export class RenderedExposition {
  private constructor(
    private readonly plain: readonly Buffer[] | null,
    /** The whole exposition as one gzip member, when the render is compact. */
    readonly gzip: Buffer | null,
    readonly length: number,
  ) {}

  static plain(chunks: readonly Buffer[]): RenderedExposition {
    let length = 0;
    for (const c of chunks) length += c.length;
    return new RenderedExposition(chunks, null, length);
  }

  /**
   * Compressed in line at the fastest level: a fleet target's ≈ 45 KB in ≈ 0.2 ms, where the thread
   * pool's hop costs as much, and kept as ≈ 6 KB. The text is written into one reused buffer, not
   * a new one per render: a thousand targets' renders would otherwise leave holes all over the
   * malloc heap between the long-lived compressed ones.
   */
  static compact(text: string): RenderedExposition {
    const length = Buffer.byteLength(text);
    if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * scratch.length));
    scratch.write(text);
    const gzip = zlib.gzipSync(scratch.subarray(0, length), { level: zlib.constants.Z_BEST_SPEED });
    // In memory of its own (see unpooled.ts), shared: the scrape front's thread (probe-front.ts)
    // serves these very bytes instead of a copy. Nothing writes to them once made.
    const shared = Buffer.from(new SharedArrayBuffer(gzip.length));
    gzip.copy(shared);
    return new RenderedExposition(null, shared, length);
  }

  /** The exposition's bytes as chunks to write in a row. */
  get chunks(): readonly Buffer[] {
    return this.plain ?? [zlib.gunzipSync(this.gzip as Buffer)];
  }

  /** The chunks joined: a new buffer each time (the compressor's input; scrapes write the chunks). */
  joined(): Buffer {
    return Buffer.concat(this.chunks as Buffer[], this.length);
  }

  /** The exposition as text (tests, the landing page's checks; scrapes only need the bytes). */
  get text(): string {
    return this.joined().toString('utf8');
  }
}

export const NOTHING_RENDERED = RenderedExposition.plain([]);

/** The compressor's input, reused by every compact render (they run one at a time, in line). */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Renders a registry on demand (once per completed poll) and keeps the last result, so scrapes
 * serve bytes and never wait on the registry; listeners see each new exposition. `compact`: keep
 * only the compressed render (see RenderedExposition.compact), for fleets of many targets.
 */
export class RegistryRenderer {
  private rendered: RenderedExposition = NOTHING_RENDERED;
  private seq = 0;
  private readonly listeners: ((exposition: RenderedExposition) => void)[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly compact = false,
  ) {}

  current(): RenderedExposition {
    return this.rendered;
  }

  onRender(listener: (exposition: RenderedExposition) => void): void {
    this.listeners.push(listener);
  }

  async render(): Promise<void> {
    const seq = ++this.seq;
    if (this.compact) {
      const text = await renderExpositionText(this.registry);
      if (seq !== this.seq) return; // a later render overtook this one
      this.rendered = RenderedExposition.compact(text);
    } else {
      const chunks = await renderExposition(this.registry);
      if (seq !== this.seq) return;
      this.rendered = RenderedExposition.plain(chunks);
    }
    for (const listener of this.listeners) listener(this.rendered);
  }
}
