// Call plans: the legs each scenario produces, with times, channels and final dial statuses.
// A plan is the simulator's own knowledge of a call; ground truth is computed from it.

import type { Rng } from './random.js';
import type { CallScenario, Direction, DispositionBucket, Extension, Provider } from './types.js';

export interface Leg {
  /** creation order: the temp `cdr` table id */
  seq: number;
  uniqueid: string;
  start: number;
  answer: number | null;
  /** null: held open until the call's holdEnd */
  end: number | null;
  src_chan: string;
  dst_chan: string;
  src_num: string;
  src_name: string;
  dst_num: string;
  dst_name: string;
  did: string;
  from_account: string;
  to_account: string;
  /** final Asterisk DIALSTATUS of the leg */
  dialstatus: string;
  transfer: '0' | '1';
  verbose_call_id: string;
  srcExt: string | null;
  dstExt: string | null;
  /** answered in the same second it ends (billsec 0, disposition ANSWER) */
  answerAtEnd: boolean;
}

export type HoldKind = 'talk' | 'ring' | 'short-answer';

export interface Call {
  seq: number;
  linkedid: string;
  scenario: CallScenario;
  direction: Direction;
  provider: string | null;
  legs: Leg[];
  /** when open (end === null) legs end; null: until endCall() */
  holdEnd: number | null;
  holdKind: HoldKind;
}

export interface PlanEnv {
  rng: Rng;
  nextChannel(): number;
  nextAsteriskSeq(): number;
  nextLegSeq(): number;
  /** distinct extensions, preferring registered ones that are not in a call */
  pickExtensions(count: number): Extension[];
  pickProvider(): Provider | null;
}

interface Draft {
  direction: Direction;
  provider: Provider | null;
  holdKind: HoldKind;
  /** relative ms at which the held phase begins (everything before it is over) */
  prelimMs: number;
  legs: Omit<Leg, 'seq' | 'uniqueid'>[];
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0').slice(-8);

function channel(env: PlanEnv, endpoint: Extension | Provider): string {
  const n = env.nextChannel();
  if ('number' in endpoint) return `PJSIP/${endpoint.number}-${hex8(n)}`;
  if (endpoint.type === 'iax') return `IAX2/${endpoint.id}-${(n % 32767) + 1}`;
  return `PJSIP/${endpoint.id}-${hex8(n)}`;
}

function externalNumber(rng: Rng): string {
  return rng.chance(0.7) ? `79${rng.digits(9)}` : `8499${rng.digits(7)}`;
}

function callId(rng: Rng): string {
  return `${rng.hex(16)}@198.51.100.${rng.int(2, 250)}`;
}

type LegInit = Omit<Leg, 'seq' | 'uniqueid' | 'transfer' | 'answerAtEnd' | 'verbose_call_id' | 'srcExt' | 'dstExt'> &
  Partial<Pick<Leg, 'transfer' | 'answerAtEnd' | 'verbose_call_id' | 'srcExt' | 'dstExt'>>;

function leg(init: LegInit): Omit<Leg, 'seq' | 'uniqueid'> {
  init.transfer ??= '0';
  init.answerAtEnd ??= false;
  init.verbose_call_id ??= '';
  init.srcExt ??= null;
  init.dstExt ??= null;
  return init as Omit<Leg, 'seq' | 'uniqueid'>;
}

function inboundLeg(
  env: PlanEnv,
  p: Provider,
  trunkChan: string,
  caller: string,
  ext: Extension,
  start: number,
  answer: number | null,
  end: number | null,
  dialstatus: string,
): Omit<Leg, 'seq' | 'uniqueid'> {
  return leg({
    start,
    answer,
    end,
    dialstatus,
    src_chan: trunkChan,
    src_num: caller,
    src_name: '',
    dst_chan: channel(env, ext),
    dst_num: ext.number,
    dst_name: ext.callerid,
    did: p.did,
    from_account: p.id,
    to_account: ext.number,
    verbose_call_id: p.type === 'sip' ? callId(env.rng) : '',
    dstExt: ext.number,
  });
}

function outboundLeg(
  env: PlanEnv,
  p: Provider,
  ext: Extension,
  dialled: string,
  start: number,
  answer: number | null,
  end: number | null,
  dialstatus: string,
): Omit<Leg, 'seq' | 'uniqueid'> {
  return leg({
    start,
    answer,
    end,
    dialstatus,
    src_chan: channel(env, ext),
    src_num: ext.number,
    src_name: ext.callerid,
    dst_chan: channel(env, p),
    dst_num: dialled,
    dst_name: '',
    did: '',
    from_account: ext.number,
    to_account: p.id,
    verbose_call_id: p.type === 'sip' ? callId(env.rng) : '',
    srcExt: ext.number,
  });
}

function internalLeg(
  env: PlanEnv,
  a: Extension,
  b: Extension,
  start: number,
  answer: number | null,
  end: number | null,
  dialstatus: string,
  srcChan?: string,
  dstChan?: string,
): Omit<Leg, 'seq' | 'uniqueid'> {
  return leg({
    start,
    answer,
    end,
    dialstatus,
    src_chan: srcChan ?? channel(env, a),
    src_num: a.number,
    src_name: a.callerid,
    dst_chan: dstChan ?? channel(env, b),
    dst_num: b.number,
    dst_name: b.callerid,
    did: '',
    from_account: a.number,
    to_account: b.number,
    srcExt: a.number,
    dstExt: b.number,
  });
}

const RING_STATUS: Partial<Record<CallScenario, string>> = {
  busy: 'BUSY',
  cancel: 'CANCEL',
  noanswer: 'NOANSWER',
};

function draftFor(env: PlanEnv, scenario: CallScenario, dialstatusOverride?: string): Draft {
  const { rng } = env;
  const ring = rng.int(2000, 12000);
  const inboundish = ['inbound', 'inbound-queue', 'transfer', 'cancel', 'noanswer', 'unknown-disposition'];
  const outboundish = ['outbound', 'busy', 'failed'];
  let wants: Direction = 'internal';
  if (inboundish.includes(scenario)) wants = 'inbound';
  else if (outboundish.includes(scenario)) wants = 'outbound';
  else if (scenario === 'long') wants = rng.chance(0.5) ? 'inbound' : 'outbound';
  const provider = wants === 'internal' ? null : env.pickProvider();
  const direction: Direction = provider ? wants : 'internal';

  const ringOutcome =
    dialstatusOverride ??
    RING_STATUS[scenario] ??
    (scenario === 'failed' ? rng.pick(['CONGESTION', 'CHANUNAVAIL']) : scenario === 'unknown-disposition' ? 'TORTURE' : null);

  const agents = scenario === 'inbound-queue' && provider ? env.pickExtensions(rng.int(2, 4)) : [];
  if (provider && agents.length > 0) {
    const trunkChan = channel(env, provider);
    const caller = externalNumber(rng);
    const winner = agents.length > 0 ? rng.int(0, agents.length - 1) : -1;
    const legs = agents.map((a, i) =>
      i === winner
        ? inboundLeg(env, provider, trunkChan, caller, a, i * 41, ring, null, 'ANSWER')
        : inboundLeg(env, provider, trunkChan, caller, a, i * 41, null, ring + 3 + i, 'NOANSWER'),
    );
    return { direction, provider, holdKind: 'talk', prelimMs: ring + 10, legs };
  }

  if (scenario === 'transfer' && provider) {
    const [a, b] = env.pickExtensions(2);
    if (a && b) {
      const trunkChan = channel(env, provider);
      const caller = externalNumber(rng);
      const consultAt = ring + rng.int(5000, 60000);
      const consultAnswer = consultAt + rng.int(1500, 6000);
      const tx = consultAnswer + rng.int(3000, 20000);
      const l1 = inboundLeg(env, provider, trunkChan, caller, a, 0, ring, tx, 'ANSWER');
      const l2 = internalLeg(env, a, b, consultAt, consultAnswer, tx, 'ANSWER');
      const l3 = leg({
        start: tx,
        answer: tx,
        end: null,
        dialstatus: 'ANSWER',
        src_chan: trunkChan,
        src_num: caller,
        src_name: '',
        dst_chan: l2.dst_chan,
        dst_num: b.number,
        dst_name: b.callerid,
        did: provider.did,
        from_account: provider.id,
        to_account: b.number,
        transfer: '1',
        verbose_call_id: l1.verbose_call_id,
        dstExt: b.number,
      });
      return { direction, provider, holdKind: 'talk', prelimMs: tx + 1, legs: [l1, l2, l3] };
    }
  }

  if (direction === 'inbound' && provider) {
    const [ext] = env.pickExtensions(1);
    if (ext) {
      const trunkChan = channel(env, provider);
      const caller = externalNumber(rng);
      if (ringOutcome) {
        return { direction, provider, holdKind: 'ring', prelimMs: 0, legs: [inboundLeg(env, provider, trunkChan, caller, ext, 0, null, null, ringOutcome)] };
      }
      return { direction, provider, holdKind: 'talk', prelimMs: ring, legs: [inboundLeg(env, provider, trunkChan, caller, ext, 0, ring, null, 'ANSWER')] };
    }
  }

  if (direction === 'outbound' && provider) {
    const [ext] = env.pickExtensions(1);
    if (ext) {
      const dialled = externalNumber(rng);
      if (ringOutcome) {
        return { direction, provider, holdKind: 'ring', prelimMs: 0, legs: [outboundLeg(env, provider, ext, dialled, 0, null, null, ringOutcome)] };
      }
      return { direction, provider, holdKind: 'talk', prelimMs: ring, legs: [outboundLeg(env, provider, ext, dialled, 0, ring, null, 'ANSWER')] };
    }
  }

  // internal (also the fallback when no provider or too few extensions exist)
  const pair = env.pickExtensions(2);
  const a = pair[0];
  const b = pair[1] ?? pair[0];
  if (!a || !b) throw new Error('cannot place a call: the PBX has no extensions');
  if (scenario === 'short-answer') {
    return {
      direction: 'internal',
      provider: null,
      holdKind: 'short-answer',
      prelimMs: 0,
      legs: [leg({ ...internalLeg(env, a, b, 0, null, null, 'ANSWER'), answerAtEnd: true })],
    };
  }
  if (ringOutcome) {
    return { direction: 'internal', provider: null, holdKind: 'ring', prelimMs: 0, legs: [internalLeg(env, a, b, 0, null, null, ringOutcome)] };
  }
  return { direction: 'internal', provider: null, holdKind: 'talk', prelimMs: ring, legs: [internalLeg(env, a, b, 0, ring, null, 'ANSWER')] };
}

export interface PlanOptions {
  /** absolute start of the first leg */
  t0: number;
  /** duration of the held phase; null keeps the call open until endCall() */
  holdMs: number | null;
}

/** Builds a call; `placeAt(prelimMs)` lets the caller pick t0 once the plan's shape is known. */
export function planCall(
  env: PlanEnv,
  scenario: CallScenario,
  dialstatus: string | undefined,
  placeAt: (prelimMs: number, holdKind: HoldKind) => PlanOptions,
): Call {
  const draft = draftFor(env, scenario, dialstatus);
  const opts = placeAt(draft.prelimMs, draft.holdKind);
  const seqBase = env.nextAsteriskSeq();
  const linkedid = `mikopbx-${Math.floor(opts.t0 / 1000)}.${seqBase}`;
  const legs = draft.legs as Leg[]; // completed in place: drafts are not shared
  for (const l of legs) {
    l.start += opts.t0;
    if (l.answer !== null) l.answer += opts.t0;
    if (l.end !== null) l.end += opts.t0;
  }
  legs.sort((x, y) => x.start - y.start);
  for (const l of legs) {
    l.seq = env.nextLegSeq();
    l.uniqueid = `${linkedid}_${env.rng.alnum(6)}`;
  }
  return {
    seq: seqBase,
    linkedid,
    scenario,
    direction: draft.direction,
    provider: draft.provider?.id ?? null,
    legs,
    holdEnd: opts.holdMs === null ? null : opts.t0 + draft.prelimMs + opts.holdMs,
    holdKind: draft.holdKind,
  };
}

/** a leg's end once known */
export function legEnd(call: Call, l: Leg): number | null {
  return l.end ?? call.holdEnd;
}

export function isLegLive(call: Call, l: Leg, t: number): boolean {
  if (l.start > t) return false;
  const end = legEnd(call, l);
  return end === null || end > t;
}

export function completionTime(call: Call): number | null {
  let max = -Infinity;
  for (const l of call.legs) {
    const e = legEnd(call, l);
    if (e === null) return null;
    if (e > max) max = e;
  }
  return max;
}

/** Fixes the outcome at the end of the call (short answers, answers that never happened), in place. */
export function finalizeLegs(call: Call): Leg[] {
  for (const l of call.legs) {
    const end = legEnd(call, l) as number;
    l.end = end;
    if (l.answerAtEnd) {
      l.answer = Math.max(l.start, Math.floor(end / 1000) * 1000);
      l.dialstatus = 'ANSWER';
    } else if (l.answer !== null && l.answer > end) {
      l.answer = null;
      l.dialstatus = 'CANCEL';
    }
  }
  return call.legs;
}

export function billsecOf(l: { answer: number | null; end: number }): number {
  return l.answer === null ? 0 : Math.max(0, Math.floor(l.end / 1000) - Math.floor(l.answer / 1000));
}

export function durationOf(l: { start: number; end: number }): number {
  return Math.max(0, Math.floor(l.end / 1000) - Math.floor(l.start / 1000));
}

/** WorkerCdr::setDisposition */
export function cdrDisposition(billsec: number, dialstatus: string): string {
  if (billsec > 0) return 'ANSWERED';
  return dialstatus !== '' ? dialstatus : 'NOANSWER';
}

/** contract bucket of a leg disposition */
export function dispositionBucket(disposition: string): DispositionBucket {
  switch (disposition.toUpperCase()) {
    case 'ANSWERED':
    case 'ANSWER':
      return 'answered';
    case 'NOANSWER':
    case 'NO ANSWER':
      return 'noanswer';
    case 'BUSY':
      return 'busy';
    case 'CANCEL':
      return 'cancel';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'FAILED':
      return 'failed';
    default:
      return 'other';
  }
}
