// The ticking life of the PBX: phones come and go, calls start and end, a trunk drops out and returns.
// Deterministic per seed for the same sequence of ticks (and clock readings).

import type { PbxModel } from './model.js';
import { DEFAULT_MIX } from './model.js';
import { Rng, weightedPicker } from './random.js';
import { isSuccessState } from './provider-states.js';
import type { ExtensionStatus } from './types.js';

export interface LivingOptions {
  tickMs: number;
  /** new calls per second */
  callsPerSecond: number;
  /** calls in progress to aim for; sets the mean call length with callsPerSecond */
  targetActiveCalls: number;
}

const pickScenario = weightedPicker(DEFAULT_MIX);

interface Outage {
  id: string;
  previous: string;
  ticksLeft: number;
}

export class Living {
  private timer: NodeJS.Timeout | null = null;
  private readonly rng: Rng;
  private outage: Outage | null = null;
  readonly meanTalkMs: number;
  ticks = 0;

  constructor(
    private readonly model: PbxModel,
    seed: number,
    private readonly opts: LivingOptions,
  ) {
    this.rng = Rng.derive(seed, 'living');
    const cps = Math.max(opts.callsPerSecond, 1e-6);
    this.meanTalkMs = Math.min(600_000, Math.max(5_000, (opts.targetActiveCalls / cps) * 1000));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  tick(): void {
    this.ticks++;
    const { model, rng } = this;
    model.sync();
    this.flipPhones();
    this.trunkWeather();
    const starts = rng.count((this.opts.callsPerSecond * this.opts.tickMs) / 1000);
    for (let i = 0; i < starts; i++) {
      try {
        model.startTimedCall(pickScenario(rng), this.meanTalkMs, rng);
      } catch {
        break; // no extensions to call
      }
    }
  }

  private flipPhones(): void {
    const { model, rng } = this;
    const exts = model.extensions().filter((e) => !e.disabled);
    if (exts.length === 0) return;
    const flips = rng.count(Math.max(exts.length * 0.002, 0.05) * (this.opts.tickMs / 1000));
    const view = model.liveView();
    for (let i = 0; i < flips; i++) {
      const ext = rng.pick(exts);
      if (view.extInCall.has(ext.number)) continue;
      let next: ExtensionStatus;
      if (ext.status === 'Available') next = rng.chance(0.9) ? 'Unavailable' : 'Unknown';
      else next = 'Available';
      model.setExtensionStatus(ext.number, next);
    }
  }

  private trunkWeather(): void {
    const { model, rng } = this;
    if (this.outage) {
      if (--this.outage.ticksLeft <= 0) {
        if (model.getProvider(this.outage.id)) model.setProviderState(this.outage.id, this.outage.previous);
        this.outage = null;
      }
      return;
    }
    // roughly one outage every ~3 minutes of PBX time
    if (!rng.chance(this.opts.tickMs / 180_000)) return;
    const candidates = model.providers().filter((p) => !p.disabled && p.registration_type !== 'none' && isSuccessState(p.state));
    if (candidates.length === 0) return;
    const p = rng.pick(candidates);
    const previous = p.state;
    const next = p.registration_type === 'inbound' ? 'unregistered' : rng.pick(['unregistered', 'rejected', 'unreachable']);
    model.setProviderState(p.id, next);
    const seconds = rng.int(10, 60);
    this.outage = { id: p.id, previous, ticksLeft: Math.max(1, Math.round((seconds * 1000) / this.opts.tickMs)) };
  }
}
