import { describe, expect, it } from 'vitest';
import { parseCoreSettings, parseCoreStatus } from '../../src/api/ami/core-parse.js';
import type { AmiReply } from '../../src/api/ami/connection.js';
import { AmiShapeError } from '../../src/api/ami/errors.js';
import { AmiFrame } from '../../src/api/ami/frame.js';
import { parseQueueStatus, parseQueueSummary } from '../../src/api/ami/queue-parse.js';
import { replyOf } from '../helpers/ami.js';

/** The fixture with one field of one event replaced. */
function withField(fixture: string | AmiReply, eventIndex: number, key: string, value: string | null): AmiReply {
  const reply = typeof fixture === 'string' ? replyOf(fixture) : fixture;
  const target = eventIndex < 0 ? reply.response : (reply.events[eventIndex] as AmiFrame);
  const fields = target.fields.filter(([k]) => k !== key).concat(value === null ? [] : [[key, value] as const]);
  const changed = new AmiFrame(fields);
  return eventIndex < 0 ? { ...reply, response: changed } : { ...reply, events: reply.events.map((e, i) => (i === eventIndex ? changed : e)) };
}

function shapeErrorOf(fn: () => unknown): AmiShapeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmiShapeError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('QueueSummary', () => {
  it('gives one typed entry per queue', () => {
    expect(parseQueueSummary(replyOf('queue-summary'))).toEqual([
      { queue: 'QUEUE-3F2A9C1B', loggedIn: 3, available: 1, callers: 2, holdTime: 14, talkTime: 187, longestHoldTime: 41 },
      { queue: 'QUEUE-8D41E07A', loggedIn: 0, available: 0, callers: 0, holdTime: 0, talkTime: 0, longestHoldTime: 0 },
    ]);
  });

  it('names the field of an invalid value', () => {
    expect(shapeErrorOf(() => parseQueueSummary(withField('queue-summary', 1, 'Callers', 'many'))).field).toBe('QueueSummary[1].Callers');
    expect(shapeErrorOf(() => parseQueueSummary(withField('queue-summary', 0, 'LoggedIn', null))).message).toBe('QueueSummary[0].LoggedIn: missing');
    expect(shapeErrorOf(() => parseQueueSummary(withField('queue-summary', 0, 'HoldTime', '-3'))).field).toBe('QueueSummary[0].HoldTime');
  });
});

describe('QueueStatus', () => {
  const status = parseQueueStatus(replyOf('queue-status'));

  it('QueueParams: statistics and configuration', () => {
    expect(status.queues).toEqual([
      {
        queue: 'QUEUE-3F2A9C1B',
        max: 0,
        strategy: 'ringall',
        calls: 2,
        holdtime: 14,
        talktime: 187,
        completed: 128,
        abandoned: 9,
        serviceLevel: 60,
        serviceLevelPerf: 87.5,
        serviceLevelPerf2: 81.8,
        weight: 0,
      },
      {
        queue: 'QUEUE-8D41E07A',
        max: 10,
        strategy: 'rrmemory',
        calls: 0,
        holdtime: 0,
        talktime: 0,
        completed: 0,
        abandoned: 0,
        serviceLevel: 0,
        serviceLevelPerf: 0,
        serviceLevelPerf2: 0,
        weight: 0,
      },
    ]);
  });

  it('QueueMember: device state by name, flags, pause reason with ": "', () => {
    expect(status.members).toHaveLength(4);
    expect(status.members[0]).toEqual({
      queue: 'QUEUE-3F2A9C1B',
      name: '201',
      location: 'Local/201@internal/n',
      stateInterface: 'hint:201@internal-hints',
      membership: 'static',
      penalty: 0,
      callsTaken: 57,
      lastCall: 1775819802,
      lastPause: 0,
      loginTime: 1775560364,
      inCall: true,
      status: 'inuse',
      paused: false,
      pausedReason: '',
      wrapupTime: 0,
    });
    expect(status.members.map((m) => [m.name, m.status, m.paused, m.pausedReason])).toEqual([
      ['201', 'inuse', false, ''],
      ['202', 'not_inuse', true, 'Lunch: back at 14:30'],
      ['203', 'not_inuse', false, ''],
      ['204', 'unavailable', false, ''],
    ]);
  });

  it('QueueEntry: waiting callers', () => {
    expect(status.entries.map((e) => [e.queue, e.position, e.callerIdNum, e.callerIdName, e.wait])).toEqual([
      ['QUEUE-3F2A9C1B', 1, '74951234567', 'unknown', 41],
      ['QUEUE-3F2A9C1B', 2, '79161112233', 'Иван Петров', 12],
    ]);
  });

  it('Perf2 and the newer member fields are optional; a state number Asterisk may add later is unknown', () => {
    const old = parseQueueStatus(withField('queue-status', 0, 'ServicelevelPerf2', null));
    expect(old.queues[0]?.serviceLevelPerf2).toBeNull();
    const member = parseQueueStatus(withField(withField(withField('queue-status', 1, 'LoginTime', null), 1, 'Wrapuptime', null), 1, 'Status', '12'));
    expect(member.members[0]).toMatchObject({ status: 'unknown', loginTime: null, wrapupTime: null });
  });

  it('names the field of an invalid value', () => {
    expect(shapeErrorOf(() => parseQueueStatus(withField('queue-status', 0, 'Completed', '12x'))).message).toBe(
      'QueueParams[0].Completed: expected an integer, got "12x"',
    );
    expect(shapeErrorOf(() => parseQueueStatus(withField('queue-status', 2, 'Paused', 'yes'))).field).toBe('QueueMember[1].Paused');
    expect(shapeErrorOf(() => parseQueueStatus(withField('queue-status', 0, 'ServicelevelPerf', '187.5'))).field).toBe('QueueParams[0].ServicelevelPerf');
    expect(shapeErrorOf(() => parseQueueStatus(withField('queue-status', 5, 'Wait', ''))).field).toBe('QueueEntry[0].Wait');
    expect(shapeErrorOf(() => parseQueueStatus(withField('queue-status', 1, 'Queue', ''))).field).toBe('QueueMember[0].Queue');
  });
});

describe('CoreStatus and CoreSettings', () => {
  it('CoreStatus (Asterisk 22): local dates and times as text, processed calls', () => {
    expect(parseCoreStatus(replyOf('core-status'))).toEqual({
      startupDate: '2026-04-07',
      startupTime: '09:12:44',
      reloadDate: '2026-04-10',
      reloadTime: '13:05:02',
      currentCalls: 3,
      processedCalls: 1523,
    });
  });

  it('CoreStatus (Asterisk 20 before 20.12): no CoreProcessedCalls', () => {
    expect(parseCoreStatus(replyOf('core-status-20')).processedCalls).toBeNull();
  });

  it('CoreStatus: a malformed date names the field', () => {
    expect(shapeErrorOf(() => parseCoreStatus(withField('core-status', -1, 'CoreStartupDate', '07.04.2026'))).field).toBe('CoreStatus.CoreStartupDate');
    expect(shapeErrorOf(() => parseCoreStatus(withField('core-status', -1, 'CoreReloadTime', null))).field).toBe('CoreStatus.CoreReloadTime');
  });

  it('CoreSettings', () => {
    expect(parseCoreSettings(replyOf('core-settings'))).toEqual({
      amiVersion: '11.0.0',
      asteriskVersion: '22.7.0',
      systemName: 'mikopbx',
      maxCalls: 0,
      maxLoadAvg: 0,
      runUser: 'www',
      runGroup: 'www',
      maxFileHandles: 0,
      realtimeEnabled: false,
      cdrEnabled: true,
      httpEnabled: true,
    });
    expect(shapeErrorOf(() => parseCoreSettings(withField('core-settings', -1, 'CoreCDRenabled', 'maybe'))).field).toBe('CoreSettings.CoreCDRenabled');
  });
});
