import type { Registry } from 'prom-client';
import { renderExposition } from './exposition.js';

/**
 * One rendered exposition (UTF-8) as the chunks renderExposition() wrote; a new object per render,
 * so it can key caches derived from it.
 */
export class RenderedExposition {
  readonly length: number;

  constructor(readonly chunks: readonly Buffer[]) {
    let length = 0;
    for (const c of chunks) length += c.length;
    this.length = length;
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

export const NOTHING_RENDERED = new RenderedExposition([]);

/**
 * Renders a registry on demand (once per completed poll) and keeps the last result, so scrapes
 * serve bytes and never wait on the registry; listeners see each new exposition.
 */
export class RegistryRenderer {
  private rendered: RenderedExposition = NOTHING_RENDERED;
  private seq = 0;
  private readonly listeners: ((exposition: RenderedExposition) => void)[] = [];

  constructor(private readonly registry: Registry) {}

  current(): RenderedExposition {
    return this.rendered;
  }

  onRender(listener: (exposition: RenderedExposition) => void): void {
    this.listeners.push(listener);
  }

  async render(): Promise<void> {
    const seq = ++this.seq;
    const chunks = await renderExposition(this.registry);
    if (seq !== this.seq) return; // a later render overtook this one
    this.rendered = new RenderedExposition(chunks);
    for (const listener of this.listeners) listener(this.rendered);
  }
}
