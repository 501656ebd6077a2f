// Many independent simulated PBXs in one process, for fleet-mode tests, the demo and the benchmark.
// Each member is a full startSimulator() on its own 127.0.0.1 port; a member's state is a held fault
// (hanging, banned) or the absence of a listener (down), and can change at runtime.

import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { DEFAULT_API_KEY, DEFAULT_LOGIN, DEFAULT_PASSWORD, startSimulator } from './index.js';
import type { Simulator, SimulatorOptions } from './index.js';
import { MEMBER_STATES, derivedApiKey, derivedPassword, planFleet } from './fleet-plan.js';
import type { MemberLabels, MemberPlan, MemberSelection, MemberState } from './fleet-plan.js';
import type { ApiMode } from './types.js';

const HOST = '127.0.0.1';
const TICK_SLICES = 10;

export interface SimFleetOptions {
  count: number;
  /** member i gets seed seedBase + i (default 1) */
  seedBase?: number;
  /** names `<prefix>-1`…, zero-padded to the width of count (default `pbx`; [a-z0-9-]) */
  namePrefix?: string;
  /** first port: members listen on port, port + 1, …; 0 (default) = a random port each */
  port?: number;
  /** members k, 2k, … (counting from 1) speak the legacy API; 0 = none (default) */
  legacyEvery?: number;
  /** no listener: connections are refused */
  down?: MemberSelection;
  /** accepts TCP, never answers an API request */
  hanging?: MemberSelection;
  /** answers every API request with nginx's 429 */
  banned?: MemberSelection;
  /** default true: each member its own API key and password (derived from its seed); false: the simulator defaults */
  distinctCredentials?: boolean;
  extensions?: number;
  providers?: number;
  activeCalls?: number;
  cdrCallsPerSecond?: number;
  historyCalls?: number;
  /** every member lives, ticked from one shared timer */
  living?: false | { tickMs: number };
  rateLimit?: SimulatorOptions['rateLimit'];
  now?: () => number;
  tzOffsetMinutes?: SimulatorOptions['tzOffsetMinutes'];
}

export interface SimFleetMember {
  readonly index: number;
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** the generation it started with (sim.setMode() can change the simulator's) */
  readonly mode: ApiMode;
  readonly seed: number;
  readonly state: MemberState;
  readonly labels: MemberLabels;
  /** v3 members */
  readonly apiKey?: string;
  /** legacy members */
  readonly login?: string;
  readonly password?: string;
  /** null until the member has been up once (a member started down has no simulator) */
  readonly sim: Simulator | null;
}

export interface SimFleet {
  readonly members: readonly SimFleetMember[];
  readonly distinctCredentials: boolean;
  /** throws for an unknown name */
  member(name: string): SimFleetMember;
  /**
   * Any state to any other. Down → up keeps the PBX's data (a member started down gets its
   * simulator now); leaving banned lifts the limiter's ban too.
   */
  setState(name: string, state: MemberState): Promise<SimFleetMember>;
  /** one living tick on every member that has a simulator (what the shared timer does) */
  tick(): void;
  close(): Promise<void>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Slot {
  member: Mutable<SimFleetMember>;
  /** lifts the held fault of a hanging or banned member */
  release: (() => void) | null;
  /** state changes of one member run one after another */
  queue: Promise<unknown>;
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, HOST, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

const closeServer = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

export async function startSimFleet(opts: SimFleetOptions): Promise<SimFleet> {
  const plans = planFleet(opts);
  const base = opts.port ?? 0;
  if (!(Number.isInteger(base) && base >= 0 && (base === 0 || base + plans.length - 1 <= 65535))) {
    throw new Error(`port ${base} leaves no room for ${plans.length} members`);
  }
  const distinct = opts.distinctCredentials ?? true;
  const living = opts.living ? { tickMs: opts.living.tickMs, timer: false } : false;

  const simOptions = (plan: MemberPlan, port: number): SimulatorOptions => ({
    host: HOST,
    port,
    mode: plan.mode,
    seed: plan.seed,
    apiKey: distinct ? derivedApiKey(plan.seed) : DEFAULT_API_KEY,
    login: DEFAULT_LOGIN,
    password: distinct ? derivedPassword(plan.seed) : DEFAULT_PASSWORD,
    extensions: opts.extensions,
    providers: opts.providers,
    activeCalls: opts.activeCalls,
    cdrCallsPerSecond: opts.cdrCallsPerSecond,
    historyCalls: opts.historyCalls,
    living,
    rateLimit: opts.rateLimit,
    now: opts.now,
    tzOffsetMinutes: opts.tzOffsetMinutes,
  });

  const slots: Slot[] = [];
  const byName = new Map<string, Slot>();
  // Ports of down members stay held until every member listens, so no member of this fleet gets
  // one; after that the OS could in principle hand one out again.
  const reserved: Server[] = [];
  let timer: NodeJS.Timeout | null = null;

  const holdState = (slot: Slot, state: MemberState): void => {
    const sim = slot.member.sim;
    if (sim === null) return;
    if (state === 'hanging') slot.release = sim.faults.hold({ kind: 'hang' });
    // status-429 also bans the client IP in the limiter, which then answers the same 429
    if (state === 'banned') slot.release = sim.faults.hold({ kind: 'status-429' });
  };

  const closeAll = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    timer = null;
    await Promise.all([...reserved.splice(0).map(closeServer), ...slots.map((s) => s.member.sim?.close())]);
  };

  try {
    for (const plan of plans) {
      const wantPort = base === 0 ? 0 : base + plan.index;
      let sim: Simulator | null = null;
      let port: number;
      if (plan.state === 'down') {
        const s = await listenOn(wantPort);
        reserved.push(s);
        port = (s.address() as { port: number }).port;
      } else {
        sim = await startSimulator(simOptions(plan, wantPort));
        port = sim.port;
      }
      const member: Mutable<SimFleetMember> = {
        index: plan.index,
        name: plan.name,
        url: `http://${HOST}:${port}`,
        port,
        mode: plan.mode,
        seed: plan.seed,
        state: plan.state,
        labels: plan.labels,
        ...(plan.mode === 'v3'
          ? { apiKey: distinct ? derivedApiKey(plan.seed) : DEFAULT_API_KEY }
          : { login: DEFAULT_LOGIN, password: distinct ? derivedPassword(plan.seed) : DEFAULT_PASSWORD }),
        sim,
      };
      const slot: Slot = { member, release: null, queue: Promise.resolve() };
      holdState(slot, plan.state);
      slots.push(slot);
      byName.set(plan.name, slot);
    }
    await Promise.all(reserved.splice(0).map(closeServer));
  } catch (e) {
    await closeAll();
    throw e;
  }

  const tick = (): void => {
    for (const s of slots) s.member.sim?.tick();
  };
  if (opts.living) {
    // one timer, each tick a tenth of the fleet (index mod 10): every member still ticks once per
    // tickMs, and the event loop never stops for the whole fleet at once (~30 ms for 1000 members)
    let slice = 0;
    timer = setInterval(() => {
      for (let i = slice; i < slots.length; i += TICK_SLICES) slots[i]?.member.sim?.tick();
      slice = (slice + 1) % TICK_SLICES;
    }, opts.living.tickMs / TICK_SLICES);
    timer.unref();
  }

  const slotOf = (name: string): Slot => {
    const slot = byName.get(name);
    if (!slot) throw new Error(`no fleet member ${name}`);
    return slot;
  };

  const changeState = async (slot: Slot, to: MemberState): Promise<SimFleetMember> => {
    const m = slot.member;
    if (m.state === to) return m;
    slot.release?.();
    slot.release = null;
    // the limiter's ban (up to an hour) would outlive the state
    if (m.state === 'banned') m.sim?.resetLimits();
    if (to === 'down') {
      await m.sim?.offline();
    } else if (m.sim === null) {
      const plan = plans[m.index] as MemberPlan;
      m.sim = await startSimulator(simOptions(plan, m.port));
    } else {
      await m.sim.online();
    }
    m.state = to;
    holdState(slot, to);
    return m;
  };

  return {
    members: slots.map((s) => s.member),
    distinctCredentials: distinct,
    member: (name) => slotOf(name).member,
    async setState(name, state) {
      if (!MEMBER_STATES.includes(state)) throw new Error(`state must be one of ${MEMBER_STATES.join(', ')}`);
      const slot = slotOf(name);
      const next = slot.queue.then(() => changeState(slot, state));
      slot.queue = next.catch(() => undefined);
      return next;
    },
    tick,
    close: closeAll,
  };
}
