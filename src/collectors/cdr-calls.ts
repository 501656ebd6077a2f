import type { CdrLeg } from '../api/types.js';
import type { CallDirection } from './calls.js';
import type { TrunkMatcher } from './channels.js';

// Pure per-call aggregation of CDR legs (contract §4 "Completed calls, from CDR").

export const CALL_DISPOSITIONS = ['answered', 'noanswer', 'busy', 'cancel', 'failed', 'other'] as const;
export type CallDisposition = (typeof CALL_DISPOSITIONS)[number];

export const PROVIDER_CALL_DIRECTIONS = ['inbound', 'outbound'] as const;
export type ProviderCallDirection = (typeof PROVIDER_CALL_DIRECTIONS)[number];

export interface CompletedCall {
  linkedid: string;
  direction: CallDirection;
  disposition: CallDisposition;
  /** Each provider the call went through, inbound if it came in from it, else outbound. */
  providers: Map<string, ProviderCallDirection>;
  /** Unix seconds: first leg start, last leg end. */
  start: number;
  end: number;
  durationSeconds: number;
  /** Answered calls only: start to first answer. */
  answerDelaySeconds: number | null;
  talkSeconds: number;
  legs: number;
}

/** `ANSWER` (billsec 0: answered in the second it ended) counts as answered, as the PBX's own grouping does. */
export function legAnswered(leg: Pick<CdrLeg, 'disposition'>): boolean {
  const d = leg.disposition.trim().toUpperCase();
  return d === 'ANSWERED' || d === 'ANSWER';
}

/** Disposition of an unanswered call from its first leg; values are open-ended (any DIALSTATUS). */
export function dispositionOf(raw: string): CallDisposition {
  switch (raw.trim().toUpperCase()) {
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

export const legEnd = (leg: CdrLeg): number => leg.end ?? leg.start + leg.duration;

/** CDR times have millisecond precision; rounding keeps a 60.000 s call out of the 60 < le bucket. */
const msDiff = (a: number, b: number): number => Math.round((a - b) * 1000) / 1000;

/** One call (all legs of one linkedid) as the contract counts it. */
export function summariseCall(legs: readonly CdrLeg[], trunks: TrunkMatcher): CompletedCall {
  if (legs.length === 0) throw new Error('a call has at least one leg');
  const chrono = [...legs].sort((a, b) => a.start - b.start || a.id - b.id);
  const first = chrono[0] as CdrLeg;
  const providers = new Map<string, ProviderCallDirection>();
  let inbound = false;
  let outbound = false;
  let end = -Infinity;
  let firstAnswer = Infinity;
  let talk = 0;
  let answered = false;
  for (const leg of chrono) {
    const src = trunks.providerOfChannel(leg.srcChannel) ?? trunks.providerOfAccount(leg.fromAccount);
    const dst = trunks.providerOfChannel(leg.dstChannel) ?? trunks.providerOfAccount(leg.toAccount);
    if (src) {
      inbound = true;
      providers.set(src, 'inbound');
    }
    if (dst) {
      outbound = true;
      if (!providers.has(dst)) providers.set(dst, 'outbound');
    }
    const isAnswered = legAnswered(leg);
    answered ||= isAnswered;
    // MikoPBX blanks `answer` when billsec is 0, so an `ANSWER` leg was answered at its end.
    const answerAt = leg.answer ?? (isAnswered ? legEnd(leg) : null);
    if (answerAt !== null) firstAnswer = Math.min(firstAnswer, answerAt);
    end = Math.max(end, legEnd(leg));
    talk += leg.billsec;
  }
  const start = first.start;
  end = Math.max(end, start);
  return {
    linkedid: first.linkedid,
    direction: inbound ? 'inbound' : outbound ? 'outbound' : 'internal',
    disposition: answered ? 'answered' : dispositionOf(first.disposition),
    providers,
    start,
    end,
    durationSeconds: msDiff(end, start),
    answerDelaySeconds: answered && Number.isFinite(firstAnswer) ? Math.max(0, msDiff(firstAnswer, start)) : null,
    talkSeconds: talk,
    legs: legs.length,
  };
}
