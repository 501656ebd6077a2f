import { afterEach } from 'vitest';
import type { SimulatorOptions } from '../../sim/index.js';
import { startHarness, type FakeClock, type Harness } from './harness.js';
import { startSim, type Simulator } from './sim.js';

export interface SimHarness {
  /** Starts a simulator on the test's clock; the latest one a test started is closed after it. */
  sim(clock: FakeClock, opts?: SimulatorOptions): Promise<Simulator>;
  /** Starts an exporter; the latest one a test started is closed after it, before anything else. */
  harness(...args: Parameters<typeof startHarness>): Promise<Harness>;
  /** Closes something after the exporter and before the simulator (a TLS front, another fake PBX). */
  closeAfter(close: () => Promise<void>): void;
}

/**
 * The teardown the fault suites share, registered as afterEach of the calling describe: the
 * exporter first (it stops polling), then the fronts, then the simulator. "The latest one": a test
 * that closes its PBX or exporter itself and starts another leaves only the new one to close.
 */
export function useSimHarness(): SimHarness {
  let sim: Simulator | undefined;
  let h: Harness | undefined;
  let closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await h?.close();
    for (const close of closers.reverse()) await close();
    await sim?.close();
    h = undefined;
    closers = [];
    sim = undefined;
  });
  return {
    async sim(clock, opts) {
      sim = await startSim(clock, opts);
      return sim;
    },
    async harness(...args) {
      h = await startHarness(...args);
      return h;
    },
    closeAfter(close) {
      closers.push(close);
    },
  };
}
