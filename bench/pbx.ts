import type * as SimulatorModule from '../sim/index.js';
import { simModule } from './util.ts';

export interface PbxScale {
  extensions: number;
  providers: number;
  activeCalls: number;
  callsPerSecond: number;
}

/**
 * The simulated MikoPBX on a clock the benchmark moves: each second() is one second of PBX life
 * (phones flap, ~callsPerSecond calls start, finished calls go to the CDR table), however long it
 * takes in real time. That is what makes a one-hour run take a minute or two, honestly: the PBX
 * produces an hour's worth of calls and CDR, and the exporter polls it on its default schedule.
 */
export class BenchPbx {
  readonly sim: SimulatorModule.Simulator;
  private readonly time: { ms: number };

  private constructor(sim: SimulatorModule.Simulator, time: { ms: number }) {
    this.sim = sim;
    this.time = time;
  }

  static async start(scale: PbxScale, startMs: number): Promise<BenchPbx> {
    const { startSimulator } = await simModule<typeof SimulatorModule>('index.js');
    const time = { ms: startMs };
    const sim = await startSimulator({
      now: () => time.ms,
      extensions: scale.extensions,
      providers: scale.providers,
      activeCalls: scale.activeCalls,
      cdrCallsPerSecond: scale.callsPerSecond,
      living: false, // driven by second() instead of a timer
      historyCalls: 0,
    });
    // The start-up calls would never end without a timer; the living stream replaces them.
    for (const call of sim.model.activeCalls()) sim.model.endCall(call.linkedid);
    return new BenchPbx(sim, time);
  }

  /** The PBX clock (Unix ms). */
  get clock(): number {
    return this.time.ms;
  }

  /** Moves the clock forward (never back) without PBX life, e.g. to where the exporter's clock is. */
  advanceTo(ms: number): void {
    this.time.ms = Math.max(this.time.ms, ms);
  }

  /** One second of PBX life. */
  second(): void {
    this.time.ms += 1000;
    this.sim.tick();
  }

  get url(): string {
    return this.sim.url;
  }

  get apiKey(): string {
    return this.sim.apiKey;
  }

  /** Calls in progress right now. */
  callsInProgress(): number {
    return this.sim.model.activeCalls().length;
  }

  /** API requests the PBX received at or after this time (Unix ms). */
  requestsSince(ms: number): { time: number; path: string }[] {
    return this.sim.requests.filter((r) => r.time >= ms);
  }

  close(): Promise<void> {
    return this.sim.close();
  }
}
