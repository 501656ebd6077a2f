// Call queues as app_queue keeps them (apps/app_queue.c, Asterisk 22): members with a device state,
// waiting callers, statistics since the last reset, and the same running averages
// ((3 × old + new) >> 2) for hold and talk time. With life on, callers join, wait, are answered
// or give up, calls end, and members pause now and then; deterministic per seed.

import type { PbxClock } from '../clock.js';
import { Rng } from '../random.js';

/** enum ast_device_state, by number. */
export const DEVICE_STATE_NAMES = ['unknown', 'not_inuse', 'inuse', 'busy', 'invalid', 'unavailable', 'ringing', 'ringinuse', 'onhold'] as const;
export type DeviceStateName = (typeof DEVICE_STATE_NAMES)[number];
export const MEMBER_STATES = ['logged_in', 'available', 'in_call', 'paused', 'unavailable'] as const;
export type MemberCountState = (typeof MEMBER_STATES)[number];

export interface SimMember {
  name: string;
  location: string;
  stateInterface: string;
  penalty: number;
  callsTaken: number;
  /** never reset: what a monotonic exporter counter must show when it saw every reset */
  callsTakenTotal: number;
  lastCall: number;
  lastPause: number;
  loginTime: number;
  status: number;
  paused: boolean;
  pausedReason: string;
  inCall: boolean;
}

export interface SimCaller {
  channel: string;
  uniqueid: string;
  callerIdNum: string;
  callerIdName: string;
  joinMs: number;
  priority: number;
  /** gives up after waiting this long (living) */
  patienceMs: number;
}

interface TalkingCall {
  caller: SimCaller;
  member: SimMember;
  answeredMs: number;
  endMs: number;
  /** answered within the queue's service level (app_queue's callcompletedinsl) */
  inSl: boolean;
}

export interface SimQueue {
  /** the Asterisk queue name: MikoPBX's uniqid */
  id: string;
  /** the numeric database id REST returns as `id` */
  dbId: number;
  name: string;
  extension: string;
  strategy: string;
  max: number;
  weight: number;
  serviceLevel: number;
  members: SimMember[];
  callers: SimCaller[];
  talking: TalkingCall[];
  holdtime: number;
  talktime: number;
  completed: number;
  abandoned: number;
  completedInSl: number;
  abandonedInSl: number;
  completedTotal: number;
  abandonedTotal: number;
}

export interface AddQueueOptions {
  id?: string;
  name?: string;
  extension?: string;
  strategy?: string;
  serviceLevel?: number;
  max?: number;
  members?: string[];
}

export interface AddCallerOptions {
  callerIdNum?: string;
  callerIdName?: string;
  /** already waiting this long */
  waitedMs?: number;
  patienceMs?: number;
}

export interface QueueTruth {
  queue: string;
  name: string;
  extension: string;
  strategy: string;
  callers: number;
  longestWaitSeconds: number;
  holdTimeSeconds: number;
  talkTimeSeconds: number;
  members: Record<MemberCountState, number>;
  /** as Asterisk reports them: since the last reset */
  completed: number;
  abandoned: number;
  /** never reset */
  completedTotal: number;
  abandonedTotal: number;
  serviceLevelRatio: number;
  memberDetails: { member: string; state: DeviceStateName; paused: boolean; callsTaken: number; callsTakenTotal: number }[];
}

const NAMES = ['Sales', 'Support', 'Отдел "Доставка"'];
const STRATEGIES = ['ringall', 'rrmemory', 'leastrecent'];
const unixOf = (ms: number): number => Math.floor(ms / 1000);

/** ServicelevelPerf as app_queue prints it ("%2.1f" of a percentage). */
export function serviceLevelPerfText(q: Pick<SimQueue, 'completed' | 'completedInSl'>): string {
  return (q.completed > 0 ? (100 * q.completedInSl) / q.completed : 0).toFixed(1);
}

export function serviceLevelPerf2Text(q: Pick<SimQueue, 'completed' | 'completedInSl' | 'abandoned' | 'abandonedInSl'>): string {
  const all = q.completed + q.abandoned;
  return (all > 0 ? (100 * (q.completedInSl + q.abandonedInSl)) / all : 0).toFixed(1);
}

export const isLoggedIn = (m: SimMember): boolean => m.status !== 4 && m.status !== 5;
/** app_queue's member_status_available and not paused (QueueSummary's Available). */
export const isAvailable = (m: SimMember): boolean => isLoggedIn(m) && (m.status === 1 || m.status === 0) && !m.paused;

export class QueueModel {
  private readonly list: SimQueue[] = [];
  private readonly rng: Rng;
  private seq = 0;
  private dbSeq = 0;
  /** called on every change a session with events on would hear of (QueueCallerJoin, …) */
  onEvent: ((event: string, fields: [string, string][]) => void) | null = null;
  /** called when a caller joins: CoreProcessedCalls counts it */
  onCallStarted: (() => void) | null = null;

  constructor(
    private readonly clock: PbxClock,
    seed: number,
    extensions: readonly { number: string; available: boolean }[],
    queues = 3,
  ) {
    this.rng = Rng.derive(seed, 'queues');
    const numbers = extensions.map((e) => e.number);
    const available = new Set(extensions.filter((e) => e.available).map((e) => e.number));
    for (let i = 0; i < queues; i++) {
      const members =
        numbers.length === 0 ? [] : Array.from({ length: Math.min(numbers.length, 3 + (i % 2)) }, (_, k) => numbers[(i * 2 + k) % numbers.length] as string);
      const q = this.addQueue({
        name: NAMES[i % NAMES.length] as string,
        strategy: STRATEGIES[i % STRATEGIES.length] as string,
        serviceLevel: [60, 30, 0][i % 3] as number,
        members: [...new Set(members)],
      });
      for (const m of q.members) m.status = available.has(m.name) ? 1 : 5;
      // statistics of the days before the simulator started
      const completed = this.rng.int(40, 160);
      q.completed = q.completedTotal = completed;
      q.completedInSl = Math.floor(completed * (0.6 + this.rng.next() * 0.35));
      q.abandoned = q.abandonedTotal = this.rng.int(0, 12);
      q.abandonedInSl = Math.floor(q.abandoned / 2);
      q.holdtime = this.rng.int(5, 40);
      q.talktime = this.rng.int(60, 240);
      for (const m of q.members) m.callsTaken = m.callsTakenTotal = this.rng.int(0, 40);
    }
  }

  queues(): SimQueue[] {
    return this.list;
  }

  get(id: string): SimQueue | undefined {
    return this.list.find((q) => q.id === id);
  }

  private must(id: string): SimQueue {
    const q = this.get(id);
    if (!q) throw new Error(`no such queue ${id}`);
    return q;
  }

  addQueue(opts: AddQueueOptions = {}): SimQueue {
    const id = opts.id ?? `QUEUE-${this.rng.hex(8, true)}`;
    if (this.get(id)) throw new Error(`queue ${id} exists`);
    const now = this.clock.now();
    const q: SimQueue = {
      id,
      dbId: ++this.dbSeq,
      name: opts.name ?? `Queue ${this.dbSeq}`,
      extension: opts.extension ?? String(2000 + this.dbSeq - 1),
      strategy: opts.strategy ?? 'ringall',
      max: opts.max ?? 0,
      weight: 0,
      serviceLevel: opts.serviceLevel ?? 60,
      members: (opts.members ?? []).map((ext) => this.member(ext, now)),
      callers: [],
      talking: [],
      holdtime: 0,
      talktime: 0,
      completed: 0,
      abandoned: 0,
      completedInSl: 0,
      abandonedInSl: 0,
      completedTotal: 0,
      abandonedTotal: 0,
    };
    this.list.push(q);
    return q;
  }

  removeQueue(id: string): boolean {
    const i = this.list.findIndex((q) => q.id === id);
    if (i < 0) return false;
    this.list.splice(i, 1);
    return true;
  }

  private member(ext: string, now: number): SimMember {
    // MikoPBX's static members (QueueConf.php): Local channel, hint state interface
    return {
      name: ext,
      location: `Local/${ext}@internal/n`,
      stateInterface: `hint:${ext}@internal-hints`,
      penalty: 0,
      callsTaken: 0,
      callsTakenTotal: 0,
      lastCall: 0,
      lastPause: 0,
      loginTime: unixOf(now),
      status: 1,
      paused: false,
      pausedReason: '',
      inCall: false,
    };
  }

  private findMember(q: SimQueue, name: string): SimMember {
    const m = q.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name} in queue ${q.id}`);
    return m;
  }

  addCaller(queueId: string, opts: AddCallerOptions = {}): SimCaller {
    const q = this.must(queueId);
    const now = this.clock.now();
    const n = ++this.seq;
    const caller: SimCaller = {
      channel: `PJSIP/SIP-TRUNK-3F9A1C7B-${n.toString(16).padStart(8, '0')}`,
      uniqueid: `mikopbx-${unixOf(now)}.${n}`,
      callerIdNum: opts.callerIdNum ?? `7916${this.rng.digits(7)}`,
      callerIdName: opts.callerIdName ?? 'unknown',
      joinMs: now - (opts.waitedMs ?? 0),
      priority: 0,
      patienceMs: opts.patienceMs ?? Math.round(20_000 + this.rng.exp(60_000)),
    };
    q.callers.push(caller);
    this.onCallStarted?.();
    this.onEvent?.('QueueCallerJoin', [
      ['Queue', q.id],
      ['Position', String(q.callers.length)],
      ['Count', String(q.callers.length)],
    ]);
    return caller;
  }

  /** The first waiting caller is answered by the named member, or the first available one. */
  answer(queueId: string, memberName?: string, talkMs = 60_000): boolean {
    const q = this.must(queueId);
    const caller = q.callers[0];
    const member = memberName === undefined ? q.members.find((m) => isAvailable(m) && !m.inCall) : this.findMember(q, memberName);
    if (!caller || !member) return false;
    const now = this.clock.now();
    q.callers.shift();
    const hold = unixOf(now) - unixOf(caller.joinMs);
    // recalc_holdtime: the first call of a fresh queue sets it, later ones weigh in by a quarter
    q.holdtime = q.completed + q.abandoned === 0 ? hold : (q.holdtime * 3 + hold) >> 2;
    member.inCall = true;
    member.status = 2;
    q.talking.push({ caller, member, answeredMs: now, endMs: now + talkMs, inSl: hold <= q.serviceLevel });
    this.onEvent?.('AgentConnect', [
      ['Queue', q.id],
      ['MemberName', member.name],
      ['HoldTime', String(hold)],
    ]);
    return true;
  }

  /** The oldest call in progress (or the named member's) ends: completed, talk time, calls taken. */
  complete(queueId: string, memberName?: string): boolean {
    const q = this.must(queueId);
    const i = memberName === undefined ? 0 : q.talking.findIndex((t) => t.member.name === memberName);
    const call = q.talking[i];
    if (!call) return false;
    q.talking.splice(i, 1);
    const now = this.clock.now();
    const talk = unixOf(now) - unixOf(call.answeredMs);
    const m = call.member;
    m.lastCall = unixOf(now);
    m.callsTaken++;
    m.callsTakenTotal++;
    m.inCall = false;
    if (m.status === 2) m.status = 1;
    q.completed++;
    q.completedTotal++;
    if (call.inSl) q.completedInSl++;
    q.talktime = q.completed === 1 ? talk : (q.talktime * 3 + talk) >> 2;
    this.onEvent?.('AgentComplete', [
      ['Queue', q.id],
      ['MemberName', m.name],
      ['TalkTime', String(talk)],
    ]);
    return true;
  }

  /** A waiting caller (default: the first) hangs up. */
  abandon(queueId: string, position = 1): boolean {
    const q = this.must(queueId);
    const caller = q.callers[position - 1];
    if (!caller) return false;
    q.callers.splice(position - 1, 1);
    const waited = unixOf(this.clock.now()) - unixOf(caller.joinMs);
    if (waited <= q.serviceLevel) q.abandonedInSl++;
    q.abandoned++;
    q.abandonedTotal++;
    this.onEvent?.('QueueCallerAbandon', [
      ['Queue', q.id],
      ['Position', String(position)],
      ['HoldTime', String(waited)],
    ]);
    return true;
  }

  pauseMember(queueId: string, memberName: string, paused: boolean, reason = ''): void {
    const m = this.findMember(this.must(queueId), memberName);
    m.paused = paused;
    m.pausedReason = paused ? reason : '';
    if (paused) m.lastPause = unixOf(this.clock.now());
    this.onEvent?.('QueueMemberPause', [
      ['Queue', queueId],
      ['MemberName', memberName],
      ['Paused', paused ? '1' : '0'],
      ['PausedReason', m.pausedReason],
    ]);
  }

  setMemberStatus(queueId: string, memberName: string, state: DeviceStateName | number): void {
    const m = this.findMember(this.must(queueId), memberName);
    const n = typeof state === 'number' ? state : DEVICE_STATE_NAMES.indexOf(state);
    if (n < 0 || n >= DEVICE_STATE_NAMES.length) throw new Error(`unknown device state ${state}`);
    m.status = n;
  }

  /** app_queue clear_queue(): what QueueReset and `queue reset stats` do (and a restart). */
  resetStats(queueId?: string): void {
    for (const q of this.list) {
      if (queueId !== undefined && q.id !== queueId) continue;
      q.holdtime = q.talktime = q.completed = q.abandoned = q.completedInSl = q.abandonedInSl = 0;
      for (const m of q.members) {
        m.callsTaken = 0;
        m.lastCall = 0;
      }
    }
  }

  /** A restart: every call is gone, statistics start from zero. */
  restart(): void {
    const now = this.clock.now();
    for (const q of this.list) {
      q.callers = [];
      q.talking = [];
      for (const m of q.members) {
        m.inCall = false;
        if (m.status === 2) m.status = 1;
        m.loginTime = unixOf(now);
        m.paused = false;
        m.pausedReason = '';
      }
    }
    this.resetStats();
  }

  /** calls in the queues now (waiting or talking) */
  activeCalls(): number {
    return this.list.reduce((n, q) => n + q.callers.length + q.talking.length, 0);
  }

  /** One living step of tickMs. */
  tick(tickMs: number): void {
    const now = this.clock.now();
    const secs = tickMs / 1000;
    for (const q of this.list) {
      for (const t of [...q.talking]) if (t.endMs <= now) this.complete(q.id, t.member.name);
      for (let i = q.callers.length; i >= 1; i--) {
        const c = q.callers[i - 1] as SimCaller;
        if (now - c.joinMs >= c.patienceMs) this.abandon(q.id, i);
      }
      while (q.callers.length > 0 && now - (q.callers[0] as SimCaller).joinMs >= 3000 && q.members.some((m) => isAvailable(m) && !m.inCall)) {
        this.answer(q.id, undefined, Math.round(Math.min(600_000, Math.max(5_000, this.rng.exp(90_000)))));
      }
      if (q.members.length > 0 && this.rng.chance(0.08 * secs)) this.addCaller(q.id);
      if (q.members.length > 0 && this.rng.chance(0.01 * secs)) {
        const m = this.rng.pick(q.members);
        if (!m.inCall) this.pauseMember(q.id, m.name, !m.paused, m.paused ? '' : this.rng.pick(['Lunch', 'Training', 'Break: back soon']));
      }
    }
  }

  truth(): QueueTruth[] {
    const nowUnix = unixOf(this.clock.now());
    return this.list.map((q) => ({
      queue: q.id,
      name: q.name,
      extension: q.extension,
      strategy: q.strategy,
      callers: q.callers.length,
      longestWaitSeconds: q.callers.reduce((max, c) => Math.max(max, nowUnix - unixOf(c.joinMs)), 0),
      holdTimeSeconds: q.holdtime,
      talkTimeSeconds: q.talktime,
      members: {
        logged_in: q.members.filter(isLoggedIn).length,
        available: q.members.filter(isAvailable).length,
        in_call: q.members.filter((m) => m.inCall).length,
        paused: q.members.filter((m) => m.paused).length,
        unavailable: q.members.filter((m) => !isLoggedIn(m)).length,
      },
      completed: q.completed,
      abandoned: q.abandoned,
      completedTotal: q.completedTotal,
      abandonedTotal: q.abandonedTotal,
      // the percentage with one decimal, as a ratio with three (71.2 → 0.712, no float noise)
      serviceLevelRatio: Math.round(Number(serviceLevelPerfText(q)) * 10) / 1000,
      memberDetails: q.members.map((m) => ({
        member: m.name,
        state: DEVICE_STATE_NAMES[m.status] as DeviceStateName,
        paused: m.paused,
        callsTaken: m.callsTaken,
        callsTakenTotal: m.callsTakenTotal,
      })),
    }));
  }
}
