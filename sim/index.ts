// Public API of the built-in MikoPBX simulator.

import { PbxClock, type TzOffset } from './clock.js';
import { SimContext } from './context.js';
import { FaultInjector } from './faults.js';
import { Living } from './living.js';
import { PbxModel } from './model.js';
import type { CallScenario } from './types.js';
import type { ApiMode, RequestLogEntry, SimStats } from './types.js';
import { SimServer } from './server.js';
import { startAmi, type AmiSimOptions, type SimAmi } from './ami/index.js';
import { QueueModel } from './ami/queues.js';

export { PbxModel, DEFAULT_MIX } from './model.js';
export type { CallInfo, GenerateResult, ScenarioMix, StartCallOptions } from './model.js';
export { FaultInjector, FAULT_KINDS } from './faults.js';
export { PbxHealth, ADVICE_LEVELS, JAILS, STORAGE_CATEGORIES } from './health.js';
export type { AdviceEntry, AdviceLevel, BanOptions, HealthTruth, Jail, S3Options, StorageCategory, StorageCategoryOrOther, StorageTruth } from './health.js';
export type { FaultKind, FaultSpec } from './faults.js';
export type { TzOffset } from './clock.js';
export { normalizeProviderState } from './provider-states.js';
export type * from './types.js';
export * from './ami/index.js';
export { CALL_SCENARIOS, DIRECTIONS, DISPOSITION_BUCKETS, PEER_STATUSES, PROVIDER_STATES } from './types.js';
export { startSimFleet } from './fleet.js';
export type { SimFleet, SimFleetMember, SimFleetOptions } from './fleet.js';
export { writeFleetTargetsFile } from './fleet-targets.js';
export type { FleetTargetExpectation, FleetTargetsFile, FleetTargetsOptions } from './fleet-targets.js';
export { MEMBER_STATES } from './fleet-plan.js';
export type { MemberLabels, MemberSelection, MemberState } from './fleet-plan.js';

export const DEFAULT_API_KEY = '5f2b9c8e1d7a4f3b6c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c';
export const DEFAULT_LOGIN = 'admin';
export const DEFAULT_PASSWORD = 'Sim-Passw0rd!';

export interface SimulatorOptions {
  host?: string;
  port?: number;
  mode?: 'v3' | 'legacy';
  seed?: number;
  apiKey?: string;
  localhostBypass?: boolean;
  login?: string;
  password?: string;
  sessionTtlSeconds?: number;
  /** PBX UTC offset in minutes (default 180), or a function of the instant for a zone with DST */
  tzOffsetMinutes?: TzOffset;
  extensions?: number;
  providers?: number;
  /** `timer: false`: calls still end by themselves, but only tick() moves life (a fleet ticks all members from one timer) */
  living?: false | { tickMs: number; timer?: boolean };
  activeCalls?: number;
  cdrCallsPerSecond?: number;
  rateLimit?: { perMinute: number; burst: number; banSeconds: number } | false;
  now?: () => number;
  /** completed calls already in cdr_general at start (default 40) */
  historyCalls?: number;
  /** also speak AMI (call queues, Asterisk core) on a TCP port: see sim/README.md */
  ami?: AmiSimOptions;
}

export interface Simulator {
  url: string;
  port: number;
  model: PbxModel;
  faults: FaultInjector;
  requests: RequestLogEntry[];
  setMode(mode: 'v3' | 'legacy'): void;
  close(): Promise<void>;
  /** login/401/429 counters (fail2ban-like) */
  readonly stats: SimStats;
  readonly mode: ApiMode;
  readonly apiKey: string;
  readonly login: string;
  readonly password: string;
  /** drops every legacy session now (as if the 1 h TTL had passed) */
  expireSessions(): number;
  /** every legacy PHPSESSID handed out so far, expired ones too */
  issuedSessionIds(): string[];
  /** one living tick now (works with or without the timer) */
  tick(): void;
  /** lifts rate-limit bans and the login throttle (POST /__sim/limits/reset) */
  resetLimits(): void;
  /** stops listening and drops every connection; the PBX keeps its state and life (connections are refused) */
  offline(): Promise<void>;
  /** listens again on the same port after offline() */
  online(): Promise<void>;
  /** false between offline() and online() */
  readonly listening: boolean;
  /** the AMI side, or null when not started */
  readonly ami: SimAmi | null;
}

/** static scenarios for the calls in progress at start: every direction shows up early */
const INITIAL_SCENARIOS: readonly CallScenario[] = ['inbound-queue', 'outbound', 'internal', 'inbound', 'transfer', 'noanswer', 'outbound', 'inbound'];

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const seed = opts.seed ?? 1;
  const clock = new PbxClock(opts.now ?? Date.now, opts.tzOffsetMinutes ?? 180);
  const model = new PbxModel({ seed, clock, extensions: opts.extensions ?? 12, providers: opts.providers ?? 4 });
  model.mode = opts.mode ?? 'v3';
  const ctx = new SimContext(model, clock, {
    apiKey: opts.apiKey ?? DEFAULT_API_KEY,
    localhostBypass: opts.localhostBypass ?? false,
    login: opts.login ?? DEFAULT_LOGIN,
    password: opts.password ?? DEFAULT_PASSWORD,
    sessionTtlSeconds: opts.sessionTtlSeconds ?? 3600,
    rateLimit: opts.rateLimit ?? { perMinute: 180, burst: 20, banSeconds: 300 },
  });

  const historyCalls = opts.historyCalls ?? 40;
  if (historyCalls > 0 && model.extensions().length > 0) model.generateCalls(historyCalls);

  const activeCalls = opts.activeCalls ?? 3;
  const cps = opts.cdrCallsPerSecond ?? 0.05;
  const lifeOpts = { tickMs: opts.living ? opts.living.tickMs : 1000, callsPerSecond: cps, targetActiveCalls: Math.max(1, activeCalls) };
  const living = opts.living ? new Living(model, seed, lifeOpts) : null;
  let manualLife: Living | null = null;
  if (model.extensions().length > 0) {
    for (let i = 0; i < activeCalls; i++) {
      const scenario = INITIAL_SCENARIOS[i % INITIAL_SCENARIOS.length] as CallScenario;
      // with life, initial calls end by themselves; without, they stay up until endCall()
      const durationMs = living ? Math.round(living.meanTalkMs * (0.5 + ((i * 7919) % 100) / 100)) : undefined;
      model.startCall(scenario, durationMs === undefined ? {} : { durationMs, ageMs: Math.round(durationMs / 3) });
    }
  }

  // Call queues exist in every PBX (REST lists their configuration); their live state needs AMI.
  const queues = new QueueModel(
    clock,
    seed,
    model.extensions().map((e) => ({ number: e.number, available: e.status === 'Available' })),
  );
  ctx.queues = queues;
  const host = opts.host ?? '127.0.0.1';
  const ami = opts.ami ? await startAmi(opts.ami, host, clock, queues, () => model.activeCalls().length) : null;
  const queueTickMs = opts.living ? opts.living.tickMs : 1000;
  const queueLife = ami && opts.living ? setInterval(() => queues.tick(queueTickMs), queueTickMs) : null;
  queueLife?.unref();

  const faults = new FaultInjector();
  const requests: RequestLogEntry[] = [];
  const setMode = (mode: ApiMode): void => {
    model.mode = mode;
  };
  const server = new SimServer({ ctx, faults, requests, setMode, ami });
  const port = await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  if (opts.living && opts.living.timer !== false) living?.start();
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    model,
    faults,
    requests,
    setMode,
    get stats() {
      return ctx.stats;
    },
    get mode() {
      return model.mode;
    },
    apiKey: ctx.opts.apiKey,
    login: ctx.opts.login,
    password: ctx.opts.password,
    expireSessions: () => ctx.sessions.expireAll(),
    issuedSessionIds: () => [...ctx.sessions.issued],
    tick: () => {
      (living ?? (manualLife ??= new Living(model, seed, lifeOpts))).tick();
      if (ami) queues.tick(queueTickMs);
    },
    ami,
    resetLimits() {
      ctx.limiter.reset();
      ctx.throttle.reset();
    },
    offline: () => server.unlisten(),
    async online() {
      if (!server.server.listening) await server.listen(port, host);
    },
    get listening() {
      return server.server.listening;
    },
    async close() {
      living?.stop();
      if (queueLife) clearInterval(queueLife);
      await Promise.all([server.close(), ami?.close()]);
    },
  };
}
