import type { Logger } from 'pino';
import { detectGeneration } from '../api/detect.js';
import { createApi } from '../api/factory.js';
import type { PbxApi } from '../api/pbx-api.js';
import type { Transport } from '../api/transport.js';
import type { Config } from '../config.js';

export interface ApiResolverOptions {
  config: Config;
  transport: Transport;
  log: Logger;
  /** A new adapter: the first one, or another generation than before. */
  onGeneration: (api: PbxApi) => void;
  /** A detection again after an outage (or a 404 poll), whatever it finds. */
  onRedetected: () => void;
}

/**
 * Which API adapter a PBX gets: the configured generation, or the detected one with `auto`.
 * Detects again when a poll asks for it (the PBX was unreachable, or answered 404 throughout).
 */
export class ApiResolver {
  private adapter: PbxApi | null = null;
  private resolving: Promise<PbxApi> | null = null;
  private redetect = false;

  constructor(private readonly opts: ApiResolverOptions) {}

  get api(): PbxApi | null {
    return this.adapter;
  }

  /** The next resolve() detects again. */
  requestRedetect(): void {
    this.redetect = true;
  }

  /** The adapter; concurrent callers (status and cdr polls) share one detection. */
  resolve(): Promise<PbxApi> {
    if (this.adapter && !this.redetect) return Promise.resolve(this.adapter);
    this.resolving ??= this.detect().finally(() => {
      this.resolving = null;
    });
    return this.resolving;
  }

  /** resolve() for a poll: a failed detection is the error of every collector of that poll. */
  async tryResolve(): Promise<{ api: PbxApi | null; setupError: unknown }> {
    try {
      return { api: await this.resolve(), setupError: null };
    } catch (e) {
      return { api: null, setupError: e };
    }
  }

  private async detect(): Promise<PbxApi> {
    const { config, transport, log } = this.opts;
    const generation = config.apiVersion === 'auto' ? await detectGeneration(transport) : config.apiVersion;
    if (this.adapter) this.opts.onRedetected();
    if (this.adapter?.generation !== generation) {
      if (this.adapter) log.warn({ from: this.adapter.generation, to: generation }, 'MikoPBX API generation changed');
      else log.info({ api: generation }, 'MikoPBX API generation detected');
      this.adapter = createApi(generation, transport, config, log);
      this.opts.onGeneration(this.adapter);
    }
    this.redetect = false;
    return this.adapter;
  }
}
