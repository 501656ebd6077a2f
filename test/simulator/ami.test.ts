import { describe, expect, it } from 'vitest';
import { DEFAULT_AMI_USER, type Simulator } from '../../sim/index.js';
import { listDone, rawAmi, type RawAmi } from '../helpers/ami-raw.js';
import { getJson, manualClock, simsClosedAfterEach } from './helpers.js';

const start = simsClosedAfterEach();
const U = DEFAULT_AMI_USER;

async function loggedIn(sim: Simulator, user = U.username, secret = U.secret, events = 'off'): Promise<RawAmi> {
  const ami = await rawAmi(sim.ami?.port as number);
  const [r] = await ami.send({ Action: 'Login', ActionID: 'l1', Username: user, Secret: secret, Events: events });
  expect(r).toEqual({ Response: 'Success', ActionID: 'l1', Message: 'Authentication accepted' });
  return ami;
}

describe('simulated AMI: greeting, login, permissions', () => {
  it('greets as Asterisk 22, or as "PBX Call Manager" when told', async () => {
    const sim = await start({ ami: {} });
    expect((await rawAmi(sim.ami?.port as number)).greeting).toBe('Asterisk Call Manager/11.0.0');
    sim.ami?.setGreeting('pbx');
    expect((await rawAmi(sim.ami?.port as number)).greeting).toBe('PBX Call Manager/11.0.0');
    const other = await start({ ami: { greeting: 'pbx' } });
    expect((await rawAmi(other.ami?.port as number)).greeting).toBe('PBX Call Manager/11.0.0');
    expect(sim.ami?.stats.connections).toBe(2);
  });

  it('is off unless asked for', async () => {
    const sim = await start();
    expect(sim.ami).toBeNull();
    expect((await getJson(sim, '/__sim/ami/truth')).status).toBe(404);
  });

  it('a wrong secret: "Authentication failed", then Asterisk hangs up; counted', async () => {
    const sim = await start({ ami: {} });
    const ami = await rawAmi(sim.ami?.port as number);
    const [r] = await ami.send({ Action: 'Login', ActionID: '1', Username: U.username, Secret: 'wrong' });
    expect(r).toEqual({ Response: 'Error', ActionID: '1', Message: 'Authentication failed' });
    await ami.closed;
    expect(sim.ami?.stats).toMatchObject({ logins: 1, failedLogins: 1 });
    expect(sim.ami?.actions[0]?.fields.Secret).toBe('***');
  });

  it('before login everything but Login/Logoff is "Permission denied"', async () => {
    const sim = await start({ ami: {} });
    const ami = await rawAmi(sim.ami?.port as number);
    expect(await ami.send({ Action: 'QueueSummary', ActionID: 'q' })).toEqual([{ Response: 'Error', ActionID: 'q', Message: 'Permission denied' }]);
  });

  it('checks actions against the write mask: CoreStatus needs reporting or system, queue actions nothing', async () => {
    const sim = await start({
      ami: {
        users: [
          { username: 'nothing', secret: 'secret-0', write: [] },
          { username: 'sys', secret: 'secret-1', write: ['system'] },
        ],
      },
    });
    const bare = await loggedIn(sim, 'nothing', 'secret-0');
    expect(await bare.send({ Action: 'CoreStatus', ActionID: 'c' })).toEqual([{ Response: 'Error', ActionID: 'c', Message: 'Permission denied' }]);
    expect((await bare.send({ Action: 'CoreSettings', ActionID: 'd' }))[0]?.Message).toBe('Permission denied');
    expect((await bare.send({ Action: 'QueueSummary', ActionID: 'q' }, listDone('QueueSummaryComplete')))[0]).toMatchObject({
      Response: 'Success',
      EventList: 'start',
    });
    const sys = await loggedIn(sim, 'sys', 'secret-1');
    expect((await sys.send({ Action: 'CoreStatus', ActionID: 'c' }))[0]?.Response).toBe('Success');
    expect(sim.ami?.stats.permissionDenied).toBe(2);
  });

  it('anything it does not know: Asterisk\'s "Invalid/unknown command"', async () => {
    const sim = await start({ ami: {} });
    const ami = await loggedIn(sim);
    expect(await ami.send({ Action: 'QueueRest', ActionID: 'x' })).toEqual([
      { Response: 'Error', ActionID: 'x', Message: 'Invalid/unknown command: QueueRest. Use Action: ListCommands to show available commands.' },
    ]);
    expect((await ami.send({ Action: 'Ping', ActionID: 'p' }))[0]).toMatchObject({ Response: 'Success', Ping: 'Pong' });
    expect(await ami.send({ Action: 'Logoff', ActionID: 'z' })).toEqual([{ Response: 'Goodbye', ActionID: 'z', Message: 'Thanks for all the fish.' }]);
    await ami.closed;
  });

  it('records every action; QueueReset does what it does on a real PBX (any user may reset the statistics)', async () => {
    const sim = await start({ ami: {} });
    const queue = sim.ami?.queues.queues()[0]?.id as string;
    expect(sim.ami?.truth().queues[0]?.completed).toBeGreaterThan(0);
    const ami = await loggedIn(sim);
    expect((await ami.send({ Action: 'QueueReset', ActionID: 'r', Queue: queue }))[0]).toEqual({
      Response: 'Success',
      ActionID: 'r',
      Message: 'Queue stats reset successfully',
    });
    expect(sim.ami?.truth().queues[0]).toMatchObject({ completed: 0, abandoned: 0, holdTimeSeconds: 0 });
    expect(sim.ami?.actions.map((a) => a.action)).toEqual(['Login', 'QueueReset']);
  });
});

describe('simulated AMI: queue answers', () => {
  it('QueueSummary and QueueStatus agree with the truth, every event carrying the ActionID', async () => {
    const clock = manualClock();
    const sim = await start({ ami: {}, now: clock.now });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    const q = ami.queues.queues()[0]?.id as string;
    ami.addCaller(q, { callerIdNum: '74951234567', waitedMs: 41_500 });
    ami.addCaller(q, { waitedMs: 2_000 });
    const member = ami.queues.queues()[0]?.members[1]?.name as string;
    ami.pauseMember(q, member, true, 'Lunch: back at 14:30');
    const raw = await loggedIn(sim);
    const summary = await raw.send({ Action: 'QueueSummary', ActionID: 's1' }, listDone('QueueSummaryComplete'));
    const truth = ami.truth().queues;
    expect(summary.map((f) => f.Event ?? f.Response)).toEqual(['Success', ...truth.map(() => 'QueueSummary'), 'QueueSummaryComplete']);
    expect(summary.every((f) => f.ActionID === 's1')).toBe(true);
    expect(summary.at(-1)).toMatchObject({ EventList: 'Complete', ListItems: String(truth.length) });
    const first = summary[1] as Record<string, string>;
    expect(first).toMatchObject({
      Queue: q,
      Callers: '2',
      LongestHoldTime: String(truth[0]?.longestWaitSeconds),
      LoggedIn: String(truth[0]?.members.logged_in),
      Available: String(truth[0]?.members.available),
    });
    expect(Number(first.LongestHoldTime)).toBeGreaterThanOrEqual(41);

    const status = await raw.send({ Action: 'QueueStatus', ActionID: 's2' }, listDone('QueueStatusComplete'));
    const params = status.filter((f) => f.Event === 'QueueParams');
    expect(params.map((p) => [p.Queue, Number(p.Completed), Number(p.Abandoned), Math.round(Number(p.ServicelevelPerf) * 10) / 1000])).toEqual(
      truth.map((t) => [t.queue, t.completed, t.abandoned, t.serviceLevelRatio]),
    );
    const paused = status.find((f) => f.Event === 'QueueMember' && f.Name === member);
    expect(paused).toMatchObject({
      Paused: '1',
      PausedReason: 'Lunch: back at 14:30',
      Location: `Local/${member}@internal/n`,
      StateInterface: `hint:${member}@internal-hints`,
      Membership: 'static',
    });
    expect(status.filter((f) => f.Event === 'QueueEntry' && f.Queue === q).map((e) => e.Position)).toEqual(['1', '2']);
    expect(status.at(-1)?.ListItems).toBe(String(status.length - 2));
  });

  it('answers, completions and abandons move the statistics as app_queue does', async () => {
    const clock = manualClock();
    const sim = await start({ ami: {}, now: clock.now });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    const q = ami.addQueue({ id: 'QUEUE-00C0FFEE', name: 'Test', members: ['201', '202'], serviceLevel: 20 });
    ami.addCaller(q.id);
    clock.advance(10_000);
    expect(ami.answer(q.id)).toBe(true);
    clock.advance(100_000);
    expect(ami.complete(q.id)).toBe(true);
    ami.addCaller(q.id);
    clock.advance(30_000);
    expect(ami.answer(q.id)).toBe(true);
    clock.advance(20_000);
    ami.complete(q.id);
    ami.addCaller(q.id);
    clock.advance(5_000);
    ami.abandon(q.id);
    const t = ami.truth().queues.find((x) => x.queue === q.id);
    // hold: first 10, then (3×10 + 30) >> 2 = 15; talk: 100, then (300 + 20) >> 2 = 80
    expect(t).toMatchObject({ holdTimeSeconds: 15, talkTimeSeconds: 80, completed: 2, abandoned: 1, serviceLevelRatio: 0.5, completedTotal: 2 });
    expect(t?.memberDetails.map((m) => m.callsTaken)).toEqual([2, 0]);
  });

  it('reload resets the queue statistics (unless told not to) and sets the reload time; restart drops sessions', async () => {
    const clock = manualClock();
    const sim = await start({ ami: {}, now: clock.now });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    const before = ami.truth();
    clock.advance(60_000);
    ami.reload({ resetQueueStats: false });
    expect(ami.truth().queues[0]?.completed).toBe(before.queues[0]?.completed);
    ami.reload();
    const after = ami.truth();
    expect(after.core.reloadTimeSeconds).toBe(Math.floor(clock.now() / 1000));
    expect(after.queues.every((q) => q.completed === 0 && q.abandoned === 0)).toBe(true);
    expect(after.queues[0]?.completedTotal).toBe(before.queues[0]?.completedTotal);

    const raw = await loggedIn(sim);
    clock.advance(1000);
    ami.restart();
    await raw.closed;
    const restarted = ami.truth().core;
    expect(restarted).toMatchObject({
      startTimeSeconds: Math.floor(clock.now() / 1000),
      processedCalls: 0,
      processedCallsTotal: before.core.processedCallsTotal,
    });
  });

  it('CoreStatus prints PBX-local dates and times without a zone', async () => {
    const clock = manualClock(Date.UTC(2026, 3, 10, 11, 22, 31));
    const sim = await start({ ami: {}, now: clock.now, tzOffsetMinutes: 180 });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    ami.restart();
    const raw = await loggedIn(sim);
    const [r] = await raw.send({ Action: 'CoreStatus', ActionID: 'c' });
    expect(r).toMatchObject({ CoreStartupDate: '2026-04-10', CoreStartupTime: '14:22:31', CoreReloadTime: '14:22:31', CoreProcessedCalls: '0' });
    const settings = await raw.send({ Action: 'CoreSettings', ActionID: 's' });
    expect(settings[0]).toMatchObject({ AsteriskVersion: '22.7.0', AMIversion: '11.0.0' });
    const old = await start({ ami: { reportsProcessedCalls: false } });
    const [o] = await (await loggedIn(old)).send({ Action: 'CoreStatus', ActionID: 'c' });
    expect(o).not.toHaveProperty('CoreProcessedCalls');
  });

  it('Events: off gets no events; a session with events on and read=agent hears queue changes', async () => {
    const sim = await start({ ami: { users: [U, { username: 'listener', secret: 'secret-2', write: [], read: ['agent', 'system'] }] } });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    const quiet = await loggedIn(sim);
    const loud = await loggedIn(sim, 'listener', 'secret-2', 'on');
    ami.addCaller(ami.queues.queues()[0]?.id as string);
    await loud.send({ Action: 'Ping', ActionID: 'p' });
    await quiet.send({ Action: 'Ping', ActionID: 'p' });
    expect(loud.unsolicited.map((f) => f.Event)).toEqual(['FullyBooted', 'QueueCallerJoin']);
    expect(quiet.unsolicited).toEqual([]);
    expect(ami.sessions().map((s) => [s.username, s.events, s.eventsSent])).toEqual([
      ['exporter', false, 0],
      ['listener', true, 2],
    ]);
  });

  it('living: callers come and go, deterministically per seed', async () => {
    const runs: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const clock = manualClock();
      const sim = await start({ ami: {}, now: clock.now, seed: 7 });
      for (let t = 0; t < 600; t++) {
        clock.advance(1000);
        sim.tick();
      }
      runs.push(sim.ami?.truth());
    }
    expect(runs[0]).toEqual(runs[1]);
    const truth = runs[0] as { queues: { completedTotal: number; abandonedTotal: number }[]; core: { processedCalls: number } };
    expect(truth.core.processedCalls).toBeGreaterThan(1500);
  });
});

describe('simulated AMI: faults and controls', () => {
  it('hang: the action (and the session behind it) never gets an answer; drop hangs up', async () => {
    const sim = await start({ ami: {} });
    const ami = sim.ami;
    if (!ami) throw new Error('no ami');
    ami.fault({ kind: 'hang', action: 'QueueStatus', count: 1 });
    const raw = await loggedIn(sim);
    await expect(raw.send({ Action: 'QueueStatus', ActionID: 'h' }, undefined, 400)).rejects.toThrow(/no answer/);
    const again = await loggedIn(sim);
    expect((await again.send({ Action: 'QueueStatus', ActionID: 'ok' }, listDone('QueueStatusComplete')))[0]?.Response).toBe('Success');
    ami.fault({ kind: 'drop', action: 'Ping' });
    void again.send({ Action: 'Ping', ActionID: 'p' }).catch(() => undefined);
    await again.closed;
  });

  it('over HTTP: truth, actions, caller, pause, reload, queue add/remove, REST call-queues with names', async () => {
    const sim = await start({ ami: {} });
    const truth = (await getJson(sim, '/__sim/ami/truth')).json;
    const q = truth.queues[0].queue as string;
    const post = (op: string, body: unknown) =>
      getJson(sim, `/__sim/ami/${op}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect((await post('caller', { queue: q, waitedMs: 5000 })).status).toBe(200);
    expect((await post('pause', { queue: q, member: truth.queues[0].memberDetails[0].member, reason: 'x' })).status).toBe(200);
    expect((await post('queue', { id: 'QUEUE-ABCDEF01', name: 'Night', extension: '2099', members: ['201'] })).json.id).toBe('QUEUE-ABCDEF01');
    const after = (await getJson(sim, '/__sim/ami/truth')).json;
    expect(after.queues[0].callers).toBe(truth.queues[0].callers + 1);
    expect(after.queues[0].members.paused).toBe(truth.queues[0].members.paused + 1);
    const rest = await getJson(sim, '/pbxcore/api/v3/call-queues');
    expect(rest.status).toBe(200);
    expect(rest.json.data.map((x: { uniqid: string }) => x.uniqid).sort()).toEqual(after.queues.map((x: { queue: string }) => x.queue).sort());
    expect(rest.json.data.find((x: { uniqid: string }) => x.uniqid === 'QUEUE-ABCDEF01')).toMatchObject({
      name: 'Night',
      extension: '2099',
      strategy: 'ringall',
      represent: '<i class="users icon"></i> Night <2099>',
    });
    const del = await getJson(sim, '/__sim/ami/queue', {
      method: 'DELETE',
      body: JSON.stringify({ id: 'QUEUE-ABCDEF01' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(del.json).toEqual({ removed: true });
    expect((await post('reload', {})).json.reloadTimeSeconds).toBeGreaterThan(0);
    expect((await getJson(sim, '/__sim/ami/actions')).json).toEqual([]);
    expect((await post('nonsense', {})).status).toBe(404);
  });
});
