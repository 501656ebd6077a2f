import type { Registry } from 'prom-client';
import { renderExposition } from './exposition.js';

/** One rendered exposition (UTF-8); a new object per render, so it can key caches derived from it. */
export class RenderedExposition {
  private decoded: string | null = null;

  constructor(readonly bytes: Buffer) {}

  /** The exposition as text (decoded on first use: scrapes only need the bytes). */
  get text(): string {
    this.decoded ??= this.bytes.toString('utf8');
    return this.decoded;
  }
}

export const NOTHING_RENDERED = new RenderedExposition(Buffer.alloc(0));

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
    const bytes = await renderExposition(this.registry);
    if (seq !== this.seq) return; // a later render overtook this one
    this.rendered = new RenderedExposition(bytes);
    for (const listener of this.listeners) listener(this.rendered);
  }
}
