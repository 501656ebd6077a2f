// PBX state: extensions, providers, calls in progress, cdr_general, and the ground truth.

import type { PbxClock } from './clock.js';
import { Rng, weightedPicker } from './random.js';
import { makeDevices, seedExtensions, seedProviders, extensionNumber } from './seed.js';
import { billsecOf, cdrDisposition, completionTime, dispositionBucket, durationOf, finalizeLegs, isLegLive, planCall } from './calls.js';
import type { Call, HoldKind, Leg, PlanEnv } from './calls.js';
import { CdrTable, renderCdrRow } from './cdr-table.js';
import { PbxHealth } from './health.js';
import type { HealthTruth } from './health.js';
import { isSuccessState, rawV3State, truthProviderState } from './provider-states.js';
import type {
  ApiMode,
  CallScenario,
  CompletedCall,
  Direction,
  DispositionBucket,
  Extension,
  ExtensionStatus,
  PeerStatus,
  PeerTruth,
  Provider,
  ProviderStateNorm,
  ProviderTruth,
  SimTruth,
} from './types.js';
import { CALL_SCENARIOS, DIRECTIONS, DISPOSITION_BUCKETS, PROVIDER_STATES } from './types.js';

export interface ModelOptions {
  seed: number;
  clock: PbxClock;
  extensions: number;
  providers: number;
}

export interface StartCallOptions {
  /** how long ago the call began (ms); default: long enough to be in its steady phase */
  ageMs?: number;
  /** total duration (ms): the call ends by itself; default: open until endCall() */
  durationMs?: number;
  /** force a not-answered outcome with this DIALSTATUS (e.g. `TORTURE`) */
  dialstatus?: string;
}

export interface CallInfo {
  linkedid: string;
  scenario: CallScenario;
  direction: Direction;
  provider: string | null;
  startMs: number;
  legs: number;
}

export type ScenarioMix = Partial<Record<CallScenario, number>>;

export const DEFAULT_MIX: Readonly<Record<CallScenario, number>> = {
  inbound: 30,
  'inbound-queue': 12,
  outbound: 30,
  internal: 10,
  transfer: 4,
  busy: 4,
  cancel: 4,
  noanswer: 6,
  failed: 3,
  'unknown-disposition': 1,
  long: 2,
  'short-answer': 1,
};

export interface GenerateResult {
  calls: number;
  legs: number;
  firstId: number;
  lastId: number;
}

/** live leg with its call, for the status views */
export interface LegRef {
  call: Call;
  leg: Leg;
}

export interface LiveView {
  at: number;
  /** legs in the temp cdr table (started, call not yet written), temp-id order */
  tempLegs: LegRef[];
  /** legs whose channels still exist */
  liveLegs: LegRef[];
  /** extension -> DeviceState while in a call */
  extInCall: Map<string, 'In use' | 'Ringing'>;
  providersInCall: Set<string>;
  /** calls with at least one started leg */
  activeCalls: Call[];
}

const RING_HOLD_MS: Partial<Record<CallScenario, [number, number]>> = {
  busy: [1000, 4000],
  failed: [100, 3000],
  cancel: [2000, 20000],
  noanswer: [15000, 30000],
  'unknown-disposition': [2000, 15000],
  'short-answer': [2000, 8000],
};

const PEER_OF_STATUS: Record<ExtensionStatus, PeerStatus> = {
  Available: 'available',
  Unavailable: 'unavailable',
  Unknown: 'unknown',
};

function zeroBuckets(): Record<DispositionBucket, number> {
  return Object.fromEntries(DISPOSITION_BUCKETS.map((d) => [d, 0])) as Record<DispositionBucket, number>;
}

export function extensionRtt(ext: Extension): number | null {
  let best: number | null = null;
  for (const d of ext.devices) if (d.rtt !== null && (best === null || d.rtt < best)) best = d.rtt;
  return best;
}

interface Due {
  call: Call;
  at: number;
}

/** binary min-heap ordered by hang-up time, then call sequence */
class CallHeap {
  private readonly items: Due[] = [];

  get size(): number {
    return this.items.length;
  }

  private less(a: Due, b: Due): boolean {
    return a.at < b.at || (a.at === b.at && a.call.seq < b.call.seq);
  }

  peek(): Due {
    return this.items[0] as Due;
  }

  push(d: Due): void {
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i] as Due, a[p] as Due)) break;
      [a[i], a[p]] = [a[p] as Due, a[i] as Due];
      i = p;
    }
  }

  pop(): Due {
    const a = this.items;
    const top = a[0] as Due;
    const last = a.pop() as Due;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as Due, a[m] as Due)) m = l;
        if (r < a.length && this.less(a[r] as Due, a[m] as Due)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Due, a[i] as Due];
        i = m;
      }
    }
    return top;
  }
}

export class PbxModel {
  /** API generation the simulator currently speaks; truth() follows it */
  mode: ApiMode = 'v3';
  readonly clock: PbxClock;
  readonly seed: number;
  readonly cdr = new CdrTable();
  /** disk usage, advice, fail2ban bans, clock skew (see sim/health.ts) */
  readonly health: PbxHealth;

  private readonly exts = new Map<string, Extension>();
  private readonly provs = new Map<string, Provider>();
  private readonly calls = new Map<string, Call>();
  private readonly completed: CompletedCall[] = [];
  private readonly busy = new Map<string, number>();
  private readonly rng: Rng;
  private readonly callRng: Rng;
  private readonly histRng: Rng;
  private extCache: Extension[] | null = null;
  private enabledCache: Extension[] | null = null;
  private provCache: Provider[] | null = null;
  /** providers calls go through: registered ones, else any enabled */
  private callPool: Provider[] | null = null;
  private channelCounter: number;
  private asteriskSeq: number;
  private legSeq = 0;
  private nextEmployeeId: number;

  constructor(opts: ModelOptions) {
    this.clock = opts.clock;
    this.seed = opts.seed;
    this.health = new PbxHealth(this.clock, this.seed);
    this.rng = Rng.derive(opts.seed, 'model');
    this.callRng = Rng.derive(opts.seed, 'calls');
    this.histRng = Rng.derive(opts.seed, 'history');
    const seedRng = Rng.derive(opts.seed, 'seed');
    for (const e of seedExtensions(seedRng, opts.extensions)) this.exts.set(e.number, e);
    for (const p of seedProviders(seedRng, opts.providers, this.clock.unix())) this.provs.set(p.id, p);
    this.nextEmployeeId = opts.extensions + 3;
    this.channelCounter = seedRng.int(0x100, 0x2000);
    this.asteriskSeq = seedRng.int(100, 2000);
  }

  // ---------- extensions ----------

  /** enabled and disabled extensions, in creation order (live objects: do not mutate) */
  extensions(): readonly Extension[] {
    this.extCache ??= [...this.exts.values()];
    return this.extCache;
  }

  private enabledExtensions(): Extension[] {
    this.enabledCache ??= this.extensions().filter((e) => !e.disabled);
    return this.enabledCache;
  }

  listExtensions(): Extension[] {
    return this.extensions().map((e) => ({ ...e, devices: e.devices.map((d) => ({ ...d })) }));
  }

  getExtension(number: string): Extension | undefined {
    return this.exts.get(number);
  }

  addExtension(init: Partial<Extension> = {}): Extension {
    let number = init.number;
    if (number === undefined) {
      let i = this.exts.size;
      do number = extensionNumber(i++, 0);
      while (this.exts.has(number));
    }
    if (this.exts.has(number)) throw new Error(`extension ${number} exists`);
    const status = init.status ?? 'Available';
    const ext: Extension = {
      number,
      callerid: init.callerid ?? `Extension ${number}`,
      email: init.email ?? '',
      mobile: init.mobile ?? '',
      status,
      devices: init.devices ?? makeDevices(this.rng, status),
      disabled: init.disabled ?? false,
      employeeId: init.employeeId ?? this.nextEmployeeId++,
    };
    this.exts.set(number, ext);
    this.extCache = null;
    this.enabledCache = null;
    return ext;
  }

  /** status changes regenerate devices unless `devices` is given too */
  updateExtension(number: string, patch: Partial<Omit<Extension, 'number'>>): Extension {
    const ext = this.exts.get(number);
    if (!ext) throw new Error(`no extension ${number}`);
    const statusChanged = patch.status !== undefined && patch.status !== ext.status;
    Object.assign(ext, patch);
    if (patch.disabled !== undefined) this.enabledCache = null;
    if (statusChanged && patch.devices === undefined) ext.devices = makeDevices(this.rng, ext.status);
    return ext;
  }

  setExtensionStatus(number: string, status: ExtensionStatus): Extension {
    return this.updateExtension(number, { status });
  }

  deleteExtension(number: string): boolean {
    const ok = this.exts.delete(number);
    if (ok) {
      this.extCache = null;
      this.enabledCache = null;
    }
    return ok;
  }

  // ---------- providers ----------

  providers(): readonly Provider[] {
    this.provCache ??= [...this.provs.values()];
    return this.provCache;
  }

  listProviders(): Provider[] {
    return this.providers().map((p) => ({ ...p }));
  }

  getProvider(id: string): Provider | undefined {
    return this.provs.get(id);
  }

  addProvider(init: Partial<Provider> & Pick<Provider, 'id'>): Provider {
    if (this.provs.has(init.id)) throw new Error(`provider ${init.id} exists`);
    const type = init.type ?? (init.id.startsWith('IAX') ? 'iax' : 'sip');
    const registration_type = init.registration_type ?? 'outbound';
    const disabled = init.disabled ?? false;
    const p: Provider = {
      type,
      registration_type,
      disabled,
      state: disabled ? 'OFF' : rawV3State({ type, registration_type }, init.state ?? 'registered'),
      host: init.host ?? `${init.id.toLowerCase()}.example`,
      username: init.username ?? 'trunk',
      description: init.description ?? init.id,
      port: init.port ?? (type === 'iax' ? 4569 : 5060),
      transport: init.transport ?? 'udp',
      did: init.did ?? `7495${this.rng.digits(7)}`,
      rtt: init.rtt ?? null,
      stateStartTime: init.stateStartTime ?? this.clock.unix(),
      lastSuccessTime: init.lastSuccessTime ?? null,
      ...(init.legacyState !== undefined ? { legacyState: init.legacyState } : {}),
      id: init.id,
    };
    this.provs.set(p.id, p);
    this.provCache = null;
    this.callPool = null;
    return p;
  }

  updateProvider(id: string, patch: Partial<Omit<Provider, 'id'>>): Provider {
    const p = this.provs.get(id);
    if (!p) throw new Error(`no provider ${id}`);
    Object.assign(p, patch);
    if (patch.disabled === true) p.state = 'OFF';
    this.callPool = null;
    return p;
  }

  /**
   * Sets a provider's state from any casing (`registered`, `REGISTERED`, `off`...): it is stored in
   * the casing the PBX uses for that provider type; unrecognised strings are stored verbatim.
   * `legacy` sets the verbatim legacy registry string (e.g. `Request Sent`); omit to derive it.
   */
  setProviderState(id: string, state: string, opts: { legacy?: string } = {}): Provider {
    const p = this.provs.get(id);
    if (!p) throw new Error(`no provider ${id}`);
    const raw = rawV3State(p, state);
    if (raw === p.state && opts.legacy === p.legacyState) return p;
    const now = this.clock.unix();
    if (isSuccessState(p.state)) p.lastSuccessTime = now;
    p.disabled = raw === 'OFF';
    p.state = raw;
    p.stateStartTime = now;
    if (opts.legacy === undefined) delete p.legacyState;
    else p.legacyState = opts.legacy;
    if (isSuccessState(raw)) p.rtt ??= this.rng.int(5, 90);
    else p.rtt = null;
    this.callPool = null;
    return p;
  }

  deleteProvider(id: string): boolean {
    const ok = this.provs.delete(id);
    if (ok) {
      this.provCache = null;
      this.callPool = null;
    }
    return ok;
  }

  // ---------- calls ----------

  private env(historical: boolean, rng: Rng): PlanEnv {
    return {
      rng,
      nextChannel: () => ++this.channelCounter,
      nextAsteriskSeq: () => (this.asteriskSeq += 3),
      nextLegSeq: () => ++this.legSeq,
      pickExtensions: (count) => this.pickExtensions(count, historical, rng),
      pickProvider: () => this.pickProvider(rng),
    };
  }

  private pickExtensions(count: number, historical: boolean, rng: Rng): Extension[] {
    const all = this.enabledExtensions();
    const chosen: Extension[] = [];
    const taken = new Set<string>();
    const good = (e: Extension): boolean => !taken.has(e.number) && (historical || (e.status === 'Available' && !this.busy.has(e.number)));
    for (let tries = 0; tries < count * 8 && chosen.length < count && all.length > 0; tries++) {
      const e = rng.pick(all);
      if (good(e)) {
        chosen.push(e);
        taken.add(e.number);
      }
    }
    if (chosen.length < count) {
      const pools = [all.filter(good), all.filter((e) => !taken.has(e.number) && !this.busy.has(e.number)), all.filter((e) => !taken.has(e.number))];
      for (const pool of pools) {
        const fresh = pool.filter((e) => !taken.has(e.number));
        while (chosen.length < count && fresh.length > 0) {
          const i = rng.int(0, fresh.length - 1);
          const e = fresh.splice(i, 1)[0] as Extension;
          chosen.push(e);
          taken.add(e.number);
        }
      }
    }
    return chosen;
  }

  private pickProvider(rng: Rng): Provider | null {
    if (this.callPool === null) {
      const enabled = this.providers().filter((p) => !p.disabled);
      const up = enabled.filter((p) => isSuccessState(p.state));
      this.callPool = up.length > 0 ? up : enabled;
    }
    return this.callPool.length > 0 ? rng.pick(this.callPool) : null;
  }

  private holdFor(rng: Rng, scenario: CallScenario, kind: HoldKind, meanTalkMs: number, historical: boolean): number {
    if (kind === 'talk') {
      if (scenario === 'long') {
        return historical ? rng.int(20 * 60_000, 90 * 60_000) : Math.round(meanTalkMs * (5 + rng.next() * 5));
      }
      return Math.max(2000, Math.min(Math.round(rng.exp(meanTalkMs)), historical ? 30 * 60_000 : 20 * meanTalkMs));
    }
    const [lo, hi] = RING_HOLD_MS[scenario] ?? [2000, 20000];
    return rng.int(lo, hi);
  }

  private track(call: Call, delta: 1 | -1): void {
    const seen = new Set<string>();
    for (const l of call.legs) for (const e of [l.srcExt, l.dstExt]) if (e !== null) seen.add(e);
    for (const e of seen) {
      const n = (this.busy.get(e) ?? 0) + delta;
      if (n <= 0) this.busy.delete(e);
      else this.busy.set(e, n);
    }
  }

  /**
   * Starts a call in progress. Without `durationMs` it stays up until endCall(); its start lies in
   * the past so that it is in its steady phase (answered, or ringing for not-answered scenarios).
   */
  startCall(scenario: CallScenario, opts: StartCallOptions = {}): CallInfo {
    if (!CALL_SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${String(scenario)}`);
    this.sync();
    const now = this.clock.now();
    const rng = this.callRng;
    const call = planCall(this.env(false, rng), scenario, opts.dialstatus, (prelimMs, kind) => {
      const closed = opts.durationMs !== undefined;
      const age = opts.ageMs ?? (closed ? 0 : prelimMs + (kind === 'talk' ? rng.int(2000, 40000) : rng.int(1000, 6000)));
      return { t0: now - age, holdMs: closed ? Math.max(500, (opts.durationMs as number) - prelimMs) : null };
    });
    this.calls.set(call.linkedid, call);
    this.track(call, 1);
    this.sync();
    return this.infoOf(call);
  }

  /** starts a call that ends by itself, with a duration drawn like the living PBX does */
  startTimedCall(scenario: CallScenario, meanTalkMs: number, rng: Rng): CallInfo {
    this.sync();
    const now = this.clock.now();
    const call = planCall(this.env(false, rng), scenario, undefined, (_prelim, kind) => ({
      t0: now,
      holdMs: this.holdFor(rng, scenario, kind, meanTalkMs, false),
    }));
    this.calls.set(call.linkedid, call);
    this.track(call, 1);
    return this.infoOf(call);
  }

  /** Hangs up every channel of the call now (or at `at`) and writes its CDR. */
  endCall(linkedid: string, at: number = this.clock.now()): boolean {
    const call = this.calls.get(linkedid);
    if (!call) return false;
    call.legs = call.legs.filter((l) => l.start <= at);
    for (const l of call.legs) if (l.end !== null && l.end > at) l.end = at;
    if (call.holdEnd === null || call.holdEnd > at) call.holdEnd = at;
    if (call.legs.length === 0) {
      this.calls.delete(linkedid);
      this.track(call, -1);
      return true;
    }
    this.sync(Math.max(at, this.clock.now()));
    return true;
  }

  activeCalls(): CallInfo[] {
    this.sync();
    const now = this.clock.now();
    return [...this.calls.values()].filter((c) => c.legs.some((l) => l.start <= now)).map((c) => this.infoOf(c));
  }

  private infoOf(call: Call): CallInfo {
    return {
      linkedid: call.linkedid,
      scenario: call.scenario,
      direction: call.direction,
      provider: call.provider,
      startMs: Math.min(...call.legs.map((l) => l.start)),
      legs: call.legs.length,
    };
  }

  /** Writes every call whose channels are all gone to cdr_general, in hang-up order. */
  sync(now: number = this.clock.now()): number {
    const due: { call: Call; at: number }[] = [];
    for (const call of this.calls.values()) {
      const at = completionTime(call);
      if (at !== null && at <= now) due.push({ call, at });
    }
    due.sort((a, b) => a.at - b.at || a.call.seq - b.call.seq);
    for (const { call } of due) {
      this.calls.delete(call.linkedid);
      this.track(call, -1);
      this.writeCdr(call);
    }
    return due.length;
  }

  private writeCdr(call: Call): CompletedCall {
    const legs = finalizeLegs(call).sort((a, b) => a.seq - b.seq);
    let firstId = 0;
    let lastId = 0;
    let talk = 0;
    let firstAnswer: number | null = null;
    for (const l of legs) {
      const end = l.end as number;
      const billsec = billsecOf({ answer: l.answer, end });
      talk += billsec;
      if (l.answer !== null && (firstAnswer === null || l.answer < firstAnswer)) firstAnswer = l.answer;
      const row = this.cdr.append({
        id: 0,
        linkedid: call.linkedid,
        uniqueid: l.uniqueid,
        startMs: l.start,
        answerMs: l.answer,
        endMs: end,
        start: this.clock.local(l.start),
        src_chan: l.src_chan,
        src_num: l.src_num,
        src_name: l.src_name,
        dst_chan: l.dst_chan,
        dst_num: l.dst_num,
        dst_name: l.dst_name,
        did: l.did,
        disposition: cdrDisposition(billsec, l.dialstatus),
        dialstatus: l.dialstatus,
        from_account: l.from_account,
        to_account: l.to_account,
        transfer: l.transfer,
        is_app: '0',
        appname: '',
        recorded: billsec > 0,
        verbose_call_id: l.verbose_call_id,
        duration: durationOf({ start: l.start, end }),
        billsec,
      });
      if (firstId === 0) firstId = row.id;
      lastId = row.id;
    }
    const chronological = [...legs].sort((a, b) => a.start - b.start || a.seq - b.seq);
    const first = chronological[0] as Leg;
    const startMs = first.start;
    const endMs = Math.max(...legs.map((l) => l.end as number));
    const disposition: DispositionBucket = firstAnswer !== null ? 'answered' : dispositionBucket(cdrDisposition(0, first.dialstatus));
    const done: CompletedCall = {
      linkedid: call.linkedid,
      scenario: call.scenario,
      direction: call.direction,
      provider: call.provider,
      disposition,
      firstCdrId: firstId,
      lastCdrId: lastId,
      legs: legs.length,
      startMs,
      endMs,
      answerDelaySeconds: firstAnswer === null ? null : (firstAnswer - startMs) / 1000,
      talkSeconds: talk,
    };
    this.completed.push(done);
    return done;
  }

  /**
   * n completed calls of mixed scenarios, already over, written to cdr_general at once
   * (in hang-up order, so long calls get higher ids than shorter calls started after them).
   */
  generateCalls(n: number, opts: { mix?: ScenarioMix } = {}): GenerateResult {
    this.sync();
    const mix = opts.mix ?? DEFAULT_MIX;
    const rng = this.histRng;
    const now = this.clock.now();
    const gapMean = Math.min(10_000, (20 * 86_400_000) / Math.max(1, n));
    const pickScenario = weightedPicker(mix);
    const scenarios: CallScenario[] = [];
    const offsets: number[] = [];
    let t = 0;
    for (let i = 0; i < n; i++) {
      scenarios.push(pickScenario(rng));
      t += Math.max(1, Math.round(rng.exp(gapMean)));
      offsets.push(t);
    }
    const maxCall = (scenarios.includes('long') ? 90 : 30) * 60_000 + 2 * 60_000;
    const base = now - t - maxCall - 1000;
    // Calls come out in start order; a min-heap on hang-up time writes each one as soon as no
    // later-starting call can hang up before it, so only overlapping calls are held in memory.
    const heap = new CallHeap();
    const env = this.env(true, rng);
    const firstId = this.cdr.maxId() + 1;
    for (let i = 0; i < n; i++) {
      const scenario = scenarios[i] as CallScenario;
      const t0 = base + (offsets[i] as number);
      while (heap.size > 0 && heap.peek().at <= t0) this.writeCdr(heap.pop().call);
      const call = planCall(env, scenario, undefined, (_prelim, kind) => ({
        t0,
        holdMs: this.holdFor(rng, scenario, kind, 90_000, true),
      }));
      heap.push({ call, at: completionTime(call) as number });
    }
    while (heap.size > 0) this.writeCdr(heap.pop().call);
    const lastId = this.cdr.maxId();
    return { calls: n, legs: lastId - firstId + 1, firstId, lastId };
  }

  // ---------- CDR ----------

  maxCdrId(): number {
    this.sync();
    return this.cdr.maxId();
  }

  /** API-shaped cdr_general rows with id > afterId */
  cdrRows(afterId = 0): Record<string, string | number>[] {
    this.sync();
    return this.cdr.rows.slice(this.cdr.indexAfter(afterId)).map((r) => renderCdrRow(r, this.clock));
  }

  /** calls whose CDR was written after afterId, with what the exporter should derive from them */
  completedCalls(afterId = 0): CompletedCall[] {
    this.sync();
    let lo = 0;
    let hi = this.completed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.completed[mid] as CompletedCall).firstCdrId > afterId) hi = mid;
      else lo = mid + 1;
    }
    return this.completed.slice(lo);
  }

  // ---------- live view ----------

  liveView(at: number = this.clock.now()): LiveView {
    this.sync(at);
    const tempLegs: LegRef[] = [];
    const liveLegs: LegRef[] = [];
    const extInCall = new Map<string, 'In use' | 'Ringing'>();
    const providersInCall = new Set<string>();
    const activeCalls: Call[] = [];
    for (const call of this.calls.values()) {
      let started = false;
      for (const leg of call.legs) {
        if (leg.start > at) continue;
        started = true;
        tempLegs.push({ call, leg });
        if (!isLegLive(call, leg, at)) continue;
        liveLegs.push({ call, leg });
        const answered = leg.answer !== null && leg.answer <= at;
        if (leg.srcExt !== null) extInCall.set(leg.srcExt, 'In use');
        if (leg.dstExt !== null && (answered || extInCall.get(leg.dstExt) !== 'In use')) {
          extInCall.set(leg.dstExt, answered ? 'In use' : 'Ringing');
        }
        if (call.provider !== null) providersInCall.add(call.provider);
      }
      if (started) activeCalls.push(call);
    }
    const order = (a: LegRef, b: LegRef): number => a.leg.start - b.leg.start || a.leg.seq - b.leg.seq;
    tempLegs.sort(order);
    liveLegs.sort(order);
    return { at, tempLegs, liveLegs, extInCall, providersInCall, activeCalls };
  }

  /** Asterisk DeviceState of an extension's main endpoint */
  deviceState(ext: Extension, view: LiveView): string {
    const inCall = view.extInCall.get(ext.number);
    if (inCall) return inCall;
    if (ext.status === 'Available') return 'Not in use';
    if (ext.status === 'Unavailable') return 'Unavailable';
    return 'Unknown';
  }

  /** DeviceState of the `NNN-WS` endpoint */
  wsDeviceState(ext: Extension, view: LiveView): string {
    if (!ext.devices.some((d) => d.webrtc)) return 'Unavailable';
    return view.extInCall.get(ext.number) ?? 'Not in use';
  }

  providerDeviceState(p: Provider, view: LiveView): string {
    if (p.disabled) return 'Unavailable';
    if (view.providersInCall.has(p.id)) return 'In use';
    return isSuccessState(p.state) ? 'Not in use' : 'Unavailable';
  }

  // ---------- ground truth ----------

  /**
   * What a correct exporter reports now, for the current API generation (or `mode`).
   * Completed-call counts cover calls whose CDR legs have ids > cdrAfterId.
   */
  /** what a correct exporter reports for storage, advice, bans and clock skew */
  healthTruth(): HealthTruth {
    return this.health.truth();
  }

  truth(opts: { cdrAfterId?: number; mode?: ApiMode } = {}): SimTruth {
    const mode = opts.mode ?? this.mode;
    const afterId = opts.cdrAfterId ?? 0;
    const view = this.liveView();
    const extensions: Record<PeerStatus, number> = { available: 0, unavailable: 0, unknown: 0 };
    const peers: Record<string, PeerTruth> = {};
    for (const ext of this.extensions()) {
      if (ext.disabled) continue;
      let peer: PeerTruth;
      if (mode === 'v3') {
        const rtt = extensionRtt(ext);
        peer = { status: PEER_OF_STATUS[ext.status], name: ext.callerid, devices: ext.devices.length, rttSeconds: rtt === null ? null : rtt / 1000 };
      } else {
        // legacy shows phones in a call as UNKNOWN; the contract counts a live channel as available
        const available = ext.status === 'Available' || view.extInCall.has(ext.number);
        peer = { status: available ? 'available' : 'unavailable', name: '', devices: null, rttSeconds: null };
      }
      peers[ext.number] = peer;
      extensions[peer.status]++;
    }

    const providers: Record<string, ProviderTruth> = {};
    const providersByState = Object.fromEntries(PROVIDER_STATES.map((s) => [s, 0])) as Record<ProviderStateNorm, number>;
    const providerActiveCalls: Record<string, number> = {};
    for (const p of this.providers()) {
      const state = truthProviderState(p, mode);
      providers[p.id] = {
        protocol: p.type,
        name: mode === 'v3' ? p.description : '',
        host: p.host,
        username: p.username,
        state,
        registered: state === 'registered' || state === 'ok',
        rttSeconds: mode === 'v3' && p.rtt !== null && !p.disabled ? p.rtt / 1000 : null,
        stateSince: mode === 'v3' ? p.stateStartTime : null,
      };
      providersByState[state]++;
      providerActiveCalls[p.id] = 0;
    }

    const activeCalls: Record<Direction, number> = { inbound: 0, outbound: 0, internal: 0 };
    for (const call of view.activeCalls) {
      activeCalls[call.direction]++;
      if (call.provider !== null) providerActiveCalls[call.provider] = (providerActiveCalls[call.provider] ?? 0) + 1;
    }
    const channels = new Set<string>();
    for (const { leg } of view.liveLegs) {
      channels.add(leg.src_chan);
      channels.add(leg.dst_chan);
    }

    const calls = Object.fromEntries(DIRECTIONS.map((d) => [d, zeroBuckets()])) as Record<Direction, Record<DispositionBucket, number>>;
    const talkSeconds: Record<Direction, number> = { inbound: 0, outbound: 0, internal: 0 };
    const providerCalls: SimTruth['cdr']['providerCalls'] = {};
    for (const p of this.providers()) providerCalls[p.id] = { inbound: zeroBuckets(), outbound: zeroBuckets() };
    const done = this.completedCalls(afterId);
    for (const c of done) {
      calls[c.direction][c.disposition]++;
      talkSeconds[c.direction] += c.talkSeconds;
      if (c.provider !== null && c.direction !== 'internal') {
        const pc = (providerCalls[c.provider] ??= { inbound: zeroBuckets(), outbound: zeroBuckets() });
        pc[c.direction][c.disposition]++;
      }
    }
    const firstRow = this.cdr.indexAfter(afterId);
    const lastRow = this.cdr.rows[this.cdr.rows.length - 1];
    return {
      mode,
      at: view.at,
      extensions,
      peers,
      providers,
      providersByState,
      activeCalls,
      activeCallsTotal: view.activeCalls.length,
      providerActiveCalls,
      activeChannels: channels.size,
      cdr: {
        afterId,
        maxId: this.cdr.maxId(),
        records: this.cdr.rows.length - firstRow,
        callsTotal: done.length,
        calls,
        providerCalls,
        talkSeconds,
        lastRecordEndTimestamp: lastRow && lastRow.id > afterId ? lastRow.endMs / 1000 : null,
      },
    };
  }
}
