import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AmiError } from '../../src/api/ami/errors.js';
import type { QueueSource } from '../../src/api/ami/client.js';
import type { DeviceState, QueueMemberStatus, QueueParams, QueueStatus, QueueSummaryEntry } from '../../src/api/ami/types.js';
import type { PbxApi } from '../../src/api/pbx-api.js';
import type { QueueConfig } from '../../src/api/v3-queues.js';
import { parseCallQueues } from '../../src/api/v3-queues.js';
import type { CollectContext } from '../../src/collectors/collector.js';
import { QueuesCollector, type QueueNamesSource, type QueuesOptions } from '../../src/collectors/queues.js';
import { parseExposition, seriesOf } from '../helpers/exposition.js';
import { captureLogger } from '../helpers/fixtures.js';

const summary = (queue: string, o: Partial<QueueSummaryEntry> = {}): QueueSummaryEntry => ({
  queue,
  loggedIn: 2,
  available: 1,
  callers: 0,
  holdTime: 10,
  talkTime: 90,
  longestHoldTime: 0,
  ...o,
});
const params = (queue: string, o: Partial<QueueParams> = {}): QueueParams => ({
  queue,
  max: 0,
  strategy: 'ringall',
  calls: 0,
  holdtime: 10,
  talktime: 90,
  completed: 100,
  abandoned: 5,
  serviceLevel: 60,
  serviceLevelPerf: 87.5,
  serviceLevelPerf2: 80,
  weight: 0,
  ...o,
});
const member = (queue: string, name: string, o: Partial<QueueMemberStatus> = {}): QueueMemberStatus => ({
  queue,
  name,
  location: `Local/${name}@internal/n`,
  stateInterface: `hint:${name}@internal-hints`,
  membership: 'static',
  penalty: 0,
  callsTaken: 10,
  lastCall: 0,
  lastPause: 0,
  loginTime: 0,
  inCall: false,
  status: 'not_inuse' as DeviceState,
  paused: false,
  pausedReason: '',
  wrapupTime: 0,
  ...o,
});

/** A fake AMI: the answers tests set, or the error they set; counts calls. */
class FakeAmi implements QueueSource {
  summary: QueueSummaryEntry[] = [];
  status: QueueStatus = { queues: [], members: [], entries: [] };
  summaryError: Error | null = null;
  statusError: Error | null = null;
  calls = { summary: 0, status: 0 };
  async queueSummary() {
    this.calls.summary++;
    if (this.summaryError) throw this.summaryError;
    return structuredClone(this.summary);
  }
  async queueStatus() {
    this.calls.status++;
    if (this.statusError) throw this.statusError;
    return structuredClone(this.status);
  }
}

class FakeNames implements QueueNamesSource {
  names: QueueConfig[] = [];
  error: Error | null = null;
  calls = 0;
  async list() {
    this.calls++;
    if (this.error) throw this.error;
    return this.names;
  }
}

async function setup(opts: Partial<QueuesOptions> = {}, names: FakeNames | null = new FakeNames()) {
  const registry = new Registry();
  const ami = new FakeAmi();
  let t = Date.UTC(2026, 3, 10, 12, 0, 0);
  const collector = new QueuesCollector(registry, ami, names, { intervalSeconds: 30, memberDetails: false, ...opts });
  const { logger, lines } = await captureLogger('debug');
  const ctx: CollectContext = { api: {} as PbxApi, snapshot: { providers: null, liveEndpoints: null, extensionNumbers: null }, log: logger, now: () => t };
  const samples = async () => parseExposition(await registry.metrics());
  const series = async (name: string) => Object.fromEntries(seriesOf(await samples(), name));
  return {
    registry,
    ami,
    names,
    collector,
    lines,
    series,
    run: () => collector.collect(ctx),
    advance: (s: number) => (t += s * 1000),
  };
}

describe('queues collector', () => {
  it('exports QueueSummary values every run and the QueueStatus ones, with info names from REST', async () => {
    const s = await setup();
    s.ami.summary = [summary('QUEUE-A', { callers: 2, longestHoldTime: 41, loggedIn: 3, available: 1, holdTime: 14, talkTime: 187 })];
    s.ami.status = {
      queues: [params('QUEUE-A', { completed: 128, abandoned: 9, serviceLevelPerf: 87.5 })],
      members: [
        member('QUEUE-A', '201', { inCall: true, status: 'inuse' }),
        member('QUEUE-A', '202', { paused: true }),
        member('QUEUE-A', '203'),
        member('QUEUE-A', '204', { status: 'unavailable' }),
      ],
      entries: [],
    };
    s.names!.names = [{ queue: 'QUEUE-A', name: 'Отдел "продаж"', extension: '2000', strategy: 'ringall' }];
    await s.run();
    expect(await s.series('mikopbx_queue_callers')).toEqual({ '{queue="QUEUE-A"}': 2 });
    expect(await s.series('mikopbx_queue_longest_wait_seconds')).toEqual({ '{queue="QUEUE-A"}': 41 });
    expect(await s.series('mikopbx_queue_hold_time_seconds')).toEqual({ '{queue="QUEUE-A"}': 14 });
    expect(await s.series('mikopbx_queue_talk_time_seconds')).toEqual({ '{queue="QUEUE-A"}': 187 });
    expect(await s.series('mikopbx_queue_members')).toEqual({
      '{queue="QUEUE-A",state="logged_in"}': 3,
      '{queue="QUEUE-A",state="available"}': 1,
      '{queue="QUEUE-A",state="in_call"}': 1,
      '{queue="QUEUE-A",state="paused"}': 1,
      '{queue="QUEUE-A",state="unavailable"}': 1,
    });
    expect(await s.series('mikopbx_queue_calls_completed_total')).toEqual({ '{queue="QUEUE-A"}': 128 });
    expect(await s.series('mikopbx_queue_calls_abandoned_total')).toEqual({ '{queue="QUEUE-A"}': 9 });
    expect(await s.series('mikopbx_queue_service_level_ratio')).toEqual({ '{queue="QUEUE-A"}': 0.875 });
    expect(await s.series('mikopbx_queue_info')).toEqual({ '{queue="QUEUE-A",name="Отдел \\"продаж\\"",extension="2000",strategy="ringall"}': 1 });
    expect(await s.series('mikopbx_queue_member_state')).toEqual({});
  });

  it('runs QueueStatus and REST only as often as configured, and at once for a new queue', async () => {
    const s = await setup({ statusIntervalSeconds: 60, namesIntervalSeconds: 600 });
    s.ami.summary = [summary('QUEUE-A')];
    s.ami.status = { queues: [params('QUEUE-A')], members: [], entries: [] };
    await s.run();
    for (let i = 0; i < 4; i++) {
      s.advance(30);
      await s.run();
    }
    expect(s.ami.calls).toEqual({ summary: 5, status: 3 });
    expect(s.names?.calls).toBe(1);
    s.ami.summary.push(summary('QUEUE-B'));
    s.ami.status.queues.push(params('QUEUE-B'));
    s.advance(30);
    await s.run();
    expect(s.ami.calls.status).toBe(4);
    for (let i = 0; i < 19; i++) {
      s.advance(30);
      await s.run();
    }
    expect(s.names?.calls).toBe(2);
  });

  it('keeps completed/abandoned monotonic across Asterisk resets: never counted twice, never lost', async () => {
    const s = await setup({ statusIntervalSeconds: 30 });
    s.ami.summary = [summary('QUEUE-A')];
    const set = (completed: number, abandoned: number) => (s.ami.status = { queues: [params('QUEUE-A', { completed, abandoned })], members: [], entries: [] });
    const completed = async () => (await s.series('mikopbx_queue_calls_completed_total'))['{queue="QUEUE-A"}'];
    const abandoned = async () => (await s.series('mikopbx_queue_calls_abandoned_total'))['{queue="QUEUE-A"}'];
    set(100, 5);
    await s.run();
    expect([await completed(), await abandoned()]).toEqual([100, 5]);
    set(104, 5);
    s.advance(30);
    await s.run();
    expect(await completed()).toBe(104);
    set(104, 5); // nothing new: nothing counted
    s.advance(30);
    await s.run();
    expect(await completed()).toBe(104);
    set(3, 1); // reset, then 3 completed and 1 abandoned
    s.advance(30);
    await s.run();
    expect([await completed(), await abandoned()]).toEqual([107, 6]);
    set(10, 6); // abandoned went past its old value after the reset: still counted from the reset
    s.advance(30);
    await s.run();
    expect([await completed(), await abandoned()]).toEqual([114, 11]);
    // a reset seen through abandoned alone still resets completed (clear_queue zeroes both)
    set(120, 0);
    s.advance(30);
    await s.run();
    expect([await completed(), await abandoned()]).toEqual([234, 11]);
  });

  it('a queue that disappears loses every series at the next successful run; a failed run changes nothing', async () => {
    const s = await setup({ memberDetails: true, statusIntervalSeconds: 300 });
    s.ami.summary = [summary('QUEUE-A'), summary('QUEUE-B')];
    s.ami.status = { queues: [params('QUEUE-A'), params('QUEUE-B')], members: [member('QUEUE-A', '201'), member('QUEUE-B', '202')], entries: [] };
    await s.run();
    const before = await s.registry.metrics();
    s.ami.summaryError = new AmiError('timeout', 'QueueSummary', 'no answer');
    s.advance(30);
    await expect(s.run()).rejects.toThrow('no answer');
    expect(await s.registry.metrics()).toBe(before);

    s.ami.summaryError = null;
    s.ami.summary = [summary('QUEUE-A')];
    s.advance(30);
    await s.run(); // QueueStatus not due: the summary alone removes QUEUE-B everywhere
    expect(s.ami.calls.status).toBe(1);
    const text = await s.registry.metrics();
    expect(text).toContain('QUEUE-A');
    expect(text).not.toContain('QUEUE-B');
    // and it comes back counting from its value, not from a stale memory
    s.ami.summary = [summary('QUEUE-A'), summary('QUEUE-B')];
    s.ami.status = { queues: [params('QUEUE-A'), params('QUEUE-B', { completed: 7 })], members: [], entries: [] };
    s.advance(30);
    await s.run();
    expect((await s.series('mikopbx_queue_calls_completed_total'))['{queue="QUEUE-B"}']).toBe(7);
  });

  it('QueueStatus failing: summary values still refresh, the status ones stay, the run fails', async () => {
    const s = await setup({ statusIntervalSeconds: 30 });
    s.ami.summary = [summary('QUEUE-A', { callers: 1 })];
    s.ami.status = { queues: [params('QUEUE-A', { completed: 50 })], members: [member('QUEUE-A', '201', { paused: true })], entries: [] };
    await s.run();
    s.ami.summary = [summary('QUEUE-A', { callers: 4 })];
    s.ami.status = { queues: [params('QUEUE-A', { completed: 60 })], members: [], entries: [] };
    s.ami.statusError = new AmiError('permission', 'QueueStatus', 'denied');
    s.advance(30);
    await expect(s.run()).rejects.toThrow('denied');
    expect((await s.series('mikopbx_queue_callers'))['{queue="QUEUE-A"}']).toBe(4);
    expect((await s.series('mikopbx_queue_calls_completed_total'))['{queue="QUEUE-A"}']).toBe(50);
    expect((await s.series('mikopbx_queue_members'))['{queue="QUEUE-A",state="paused"}']).toBe(1);
  });

  it('per-member series only when asked for: state (every device state), paused, calls taken across resets', async () => {
    const s = await setup({ memberDetails: true, statusIntervalSeconds: 30 });
    s.ami.summary = [summary('QUEUE-A')];
    s.ami.status = {
      queues: [params('QUEUE-A', { completed: 100 })],
      members: [member('QUEUE-A', '201', { status: 'inuse', callsTaken: 40 }), member('QUEUE-A', '', { location: 'PJSIP/205', paused: true, callsTaken: 3 })],
      entries: [],
    };
    await s.run();
    const states = await s.series('mikopbx_queue_member_state');
    expect(Object.keys(states)).toHaveLength(18);
    expect(states['{queue="QUEUE-A",member="201",state="inuse"}']).toBe(1);
    expect(states['{queue="QUEUE-A",member="201",state="not_inuse"}']).toBe(0);
    expect(await s.series('mikopbx_queue_member_paused')).toEqual({ '{queue="QUEUE-A",member="201"}': 0, '{queue="QUEUE-A",member="PJSIP/205"}': 1 });
    expect(await s.series('mikopbx_queue_member_calls_taken_total')).toEqual({
      '{queue="QUEUE-A",member="201"}': 40,
      '{queue="QUEUE-A",member="PJSIP/205"}': 3,
    });
    // QueueReset: the queue's completed falls, so every member's count restarted too, even 201's that is already past 40 again
    s.ami.status = { queues: [params('QUEUE-A', { completed: 45 })], members: [member('QUEUE-A', '201', { callsTaken: 45 })], entries: [] };
    s.advance(30);
    await s.run();
    expect(await s.series('mikopbx_queue_member_calls_taken_total')).toEqual({ '{queue="QUEUE-A",member="201"}': 85 });
    expect(Object.keys(await s.series('mikopbx_queue_member_state'))).toHaveLength(9);

    const plain = await setup({ memberDetails: false });
    plain.ami.summary = s.ami.summary;
    plain.ami.status = s.ami.status;
    await plain.run();
    const text = await plain.registry.metrics();
    expect(text).not.toContain('mikopbx_queue_member_');
  });

  it('info without names when REST fails (said once), with names once it answers', async () => {
    const s = await setup({ namesIntervalSeconds: 60 });
    s.ami.summary = [summary('QUEUE-A')];
    s.ami.status = { queues: [params('QUEUE-A', { strategy: 'rrmemory' })], members: [], entries: [] };
    s.names!.error = new Error('HTTP 401: the key lacks /api/v3/call-queues');
    await s.run();
    expect(await s.series('mikopbx_queue_info')).toEqual({ '{queue="QUEUE-A",name="",extension="",strategy="rrmemory"}': 1 });
    s.advance(60);
    await s.run();
    expect(s.lines.filter((l) => l.includes('"level":"warn"') && l.includes('call-queues failed'))).toHaveLength(1);
    s.names!.error = null;
    s.names!.names = [{ queue: 'QUEUE-A', name: 'Sales', extension: '2000', strategy: 'ringall' }];
    s.advance(60);
    await s.run();
    expect(await s.series('mikopbx_queue_info')).toEqual({ '{queue="QUEUE-A",name="Sales",extension="2000",strategy="rrmemory"}': 1 });
  });

  it('without a REST source at all, info names every queue with ""', async () => {
    const s = await setup({}, null);
    s.ami.summary = [summary('QUEUE-A')];
    s.ami.status = { queues: [params('QUEUE-A')], members: [], entries: [] };
    await s.run();
    expect(await s.series('mikopbx_queue_info')).toEqual({ '{queue="QUEUE-A",name="",extension="",strategy="ringall"}': 1 });
  });

  it('HELP says where each value comes from and how often', async () => {
    const s = await setup({ statusIntervalSeconds: 60 });
    const text = await s.registry.metrics();
    expect(text).toContain('# HELP mikopbx_queue_callers Callers waiting in the call queue now. From AMI QueueSummary, refreshed every 30 seconds.');
    expect(text).toMatch(/# HELP mikopbx_queue_hold_time_seconds Asterisk's running average/);
    expect(text).toMatch(/# HELP mikopbx_queue_members .*QueueSummary every 30 seconds.*QueueStatus member list every 60 seconds/);
    s.collector.setIntervalSeconds(90);
    const after = await s.registry.metrics();
    expect(after).toContain('From AMI QueueSummary, refreshed every 90 seconds.');
    expect(after).toContain('From AMI QueueStatus, refreshed every 90 seconds.');
  });
});

describe('REST call-queues', () => {
  it('takes the Asterisk name from uniqid, else from id; [] when empty', () => {
    expect(
      parseCallQueues([
        { id: '3', uniqid: 'QUEUE-3F2A9C1B', name: 'Sales', extension: '2000', strategy: 'ringall', members: [] },
        { id: 'QUEUE-8D41E07A', name: 'Support', extension: 2001, strategy: 'rrmemory', represent: '…' },
      ]),
    ).toEqual([
      { queue: 'QUEUE-3F2A9C1B', name: 'Sales', extension: '2000', strategy: 'ringall' },
      { queue: 'QUEUE-8D41E07A', name: 'Support', extension: '2001', strategy: 'rrmemory' },
    ]);
    expect(parseCallQueues([])).toEqual([]);
    expect(() => parseCallQueues([{ name: 'no id' }])).toThrow(/data\[0\]\.id/);
    expect(() => parseCallQueues({ queues: [] })).toThrow(/data: expected a list/);
  });
});
