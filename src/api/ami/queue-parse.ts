import type { AmiReply } from './connection.js';
import { fieldsOf } from './fields.js';
import {
  DEVICE_STATES,
  type DeviceState,
  type QueueEntry,
  type QueueMemberStatus,
  type QueueParams,
  type QueueStatus,
  type QueueSummaryEntry,
} from './types.js';
import { AmiShapeError } from './errors.js';

const eventName = (frame: { get(k: string): string | undefined }) => (frame.get('Event') ?? '').toLowerCase();

/** QueueSummary: one entry per queue. */
export function parseQueueSummary(reply: AmiReply): QueueSummaryEntry[] {
  const out: QueueSummaryEntry[] = [];
  for (const frame of reply.events) {
    if (eventName(frame) !== 'queuesummary') continue;
    const f = fieldsOf(frame, `QueueSummary[${out.length}]`);
    out.push({
      queue: nonEmpty(f.text('Queue'), `QueueSummary[${out.length}].Queue`),
      loggedIn: count(f.int('LoggedIn'), `QueueSummary[${out.length}].LoggedIn`),
      available: count(f.int('Available'), `QueueSummary[${out.length}].Available`),
      callers: count(f.int('Callers'), `QueueSummary[${out.length}].Callers`),
      holdTime: count(f.int('HoldTime'), `QueueSummary[${out.length}].HoldTime`),
      talkTime: count(f.int('TalkTime'), `QueueSummary[${out.length}].TalkTime`),
      longestHoldTime: count(f.int('LongestHoldTime'), `QueueSummary[${out.length}].LongestHoldTime`),
    });
  }
  return out;
}

/** QueueStatus: QueueParams, QueueMember and QueueEntry events; others (newer Asterisk) are skipped. */
export function parseQueueStatus(reply: AmiReply): QueueStatus {
  const queues: QueueParams[] = [];
  const members: QueueMemberStatus[] = [];
  const entries: QueueEntry[] = [];
  for (const frame of reply.events) {
    const ev = eventName(frame);
    if (ev === 'queueparams') queues.push(queueParams(frame, `QueueParams[${queues.length}]`));
    else if (ev === 'queuemember') members.push(queueMember(frame, `QueueMember[${members.length}]`));
    else if (ev === 'queueentry') entries.push(queueEntry(frame, `QueueEntry[${entries.length}]`));
  }
  return { queues, members, entries };
}

function queueParams(frame: AmiReply['response'], where: string): QueueParams {
  const f = fieldsOf(frame, where);
  return {
    queue: nonEmpty(f.text('Queue'), `${where}.Queue`),
    max: count(f.int('Max'), `${where}.Max`),
    strategy: f.text('Strategy'),
    calls: count(f.int('Calls'), `${where}.Calls`),
    holdtime: count(f.int('Holdtime'), `${where}.Holdtime`),
    talktime: count(f.int('TalkTime'), `${where}.TalkTime`),
    completed: count(f.int('Completed'), `${where}.Completed`),
    abandoned: count(f.int('Abandoned'), `${where}.Abandoned`),
    serviceLevel: count(f.int('ServiceLevel'), `${where}.ServiceLevel`),
    serviceLevelPerf: percent(f.decimal('ServicelevelPerf'), `${where}.ServicelevelPerf`),
    serviceLevelPerf2: optionalPercent(f.optionalDecimal('ServicelevelPerf2'), `${where}.ServicelevelPerf2`),
    weight: f.int('Weight'),
  };
}

function queueMember(frame: AmiReply['response'], where: string): QueueMemberStatus {
  const f = fieldsOf(frame, where);
  const membership = f.text('Membership').toLowerCase();
  const status = f.int('Status');
  return {
    queue: nonEmpty(f.text('Queue'), `${where}.Queue`),
    name: f.text('Name'),
    location: f.text('Location'),
    stateInterface: f.optionalText('StateInterface'),
    membership: membership === 'static' || membership === 'dynamic' || membership === 'realtime' ? membership : 'other',
    penalty: f.int('Penalty'),
    callsTaken: count(f.int('CallsTaken'), `${where}.CallsTaken`),
    lastCall: count(f.int('LastCall'), `${where}.LastCall`),
    lastPause: f.optionalInt('LastPause'),
    loginTime: f.optionalInt('LoginTime'),
    inCall: frame.has('InCall') ? f.flag('InCall') : false,
    // A state number this Asterisk does not have yet counts as unknown rather than failing the run.
    status: (DEVICE_STATES[status] ?? 'unknown') as DeviceState,
    paused: f.flag('Paused'),
    pausedReason: f.optionalText('PausedReason'),
    wrapupTime: f.optionalInt('Wrapuptime'),
  };
}

function queueEntry(frame: AmiReply['response'], where: string): QueueEntry {
  const f = fieldsOf(frame, where);
  return {
    queue: nonEmpty(f.text('Queue'), `${where}.Queue`),
    position: f.int('Position'),
    channel: f.text('Channel'),
    uniqueid: f.optionalText('Uniqueid'),
    callerIdNum: f.optionalText('CallerIDNum'),
    callerIdName: f.optionalText('CallerIDName'),
    connectedLineNum: f.optionalText('ConnectedLineNum'),
    connectedLineName: f.optionalText('ConnectedLineName'),
    wait: count(f.int('Wait'), `${where}.Wait`),
    priority: f.optionalInt('Priority') ?? 0,
  };
}

function nonEmpty(v: string, field: string): string {
  if (v.trim() === '') throw new AmiShapeError(field, 'expected a queue name, got ""');
  return v;
}

function count(n: number, field: string): number {
  if (n < 0) throw new AmiShapeError(field, `expected a count or seconds (>= 0), got ${n}`);
  return n;
}

function percent(n: number, field: string): number {
  if (n < 0 || n > 100) throw new AmiShapeError(field, `expected a percentage (0..100), got ${n}`);
  return n;
}

function optionalPercent(n: number | null, field: string): number | null {
  return n === null ? null : percent(n, field);
}
