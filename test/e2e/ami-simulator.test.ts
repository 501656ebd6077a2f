import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiClient, ALLOWED_ACTIONS } from '../../src/api/ami/index.js';
import type { PbxApi } from '../../src/api/pbx-api.js';
import { Transport } from '../../src/api/transport.js';
import { V3Api, V3Client } from '../../src/api/v3.js';
import { AsteriskCollector } from '../../src/collectors/asterisk.js';
import type { CollectContext } from '../../src/collectors/collector.js';
import { QueuesCollector } from '../../src/collectors/queues.js';
import { DEFAULT_AMI_USER, type Simulator } from '../../sim/index.js';
import { byLabel, parseExposition, seriesOf } from '../helpers/exposition.js';
import { captureLogger } from '../helpers/fixtures.js';
import { manualClock, simsClosedAfterEach } from '../simulator/helpers.js';

const start = simsClosedAfterEach();
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function exporterParts(sim: Simulator, now: () => number) {
  const ami = new AmiClient({
    host: '127.0.0.1',
    port: sim.ami?.port as number,
    username: DEFAULT_AMI_USER.username,
    secret: DEFAULT_AMI_USER.secret,
    keepAliveMs: 0,
    reconnect: { firstMs: 20, maxMs: 100 },
  });
  const transport = new Transport({ baseUrl: sim.url, timeoutMs: 5000, maxRequestsPerMinute: 60 });
  closers.push(
    () => ami.close(),
    () => transport.close(),
  );
  const registry = new Registry();
  const queues = new QueuesCollector(
    registry,
    ami,
    { list: () => new V3Api(new V3Client(transport, sim.apiKey)).callQueues() },
    { intervalSeconds: 30, statusIntervalSeconds: 30, memberDetails: true },
  );
  const asterisk = new AsteriskCollector(registry, ami, { intervalSeconds: 60, utcOffsetMinutes: () => 180 });
  const { logger } = await captureLogger('silent');
  const ctx: CollectContext = { api: {} as PbxApi, snapshot: { providers: null, liveEndpoints: null, extensionNumbers: null }, log: logger, now };
  const samples = async () => parseExposition(await registry.metrics());
  return { ami, registry, queues, asterisk, ctx, samples, poll: async () => (await queues.collect(ctx), await asterisk.collect(ctx)) };
}

describe('queues and asterisk collectors against the simulated PBX (AMI + REST)', () => {
  it('report exactly the truth, through resets, restarts and a removed queue, never sending QueueReset', async () => {
    const clock = manualClock();
    const sim = await start({ ami: {}, now: clock.now, tzOffsetMinutes: 180 });
    const simAmi = sim.ami;
    if (!simAmi) throw new Error('no ami');
    const e = await exporterParts(sim, clock.now);
    const [q1, q2] = simAmi.queues.queues().map((q) => q.id) as [string, string];
    simAmi.addCaller(q1, { waitedMs: 12_000 });
    simAmi.pauseMember(q1, simAmi.queues.queues()[0]?.members[0]?.name as string, true, 'Lunch');

    const check = async () => {
      const s = await e.samples();
      for (const t of simAmi.truth().queues) {
        const at = (name: string) => byLabel(s, name, 'queue')[t.queue];
        expect([
          at('mikopbx_queue_callers'),
          at('mikopbx_queue_longest_wait_seconds'),
          at('mikopbx_queue_hold_time_seconds'),
          at('mikopbx_queue_talk_time_seconds'),
        ]).toEqual([t.callers, t.longestWaitSeconds, t.holdTimeSeconds, t.talkTimeSeconds]);
        expect([at('mikopbx_queue_calls_completed_total'), at('mikopbx_queue_calls_abandoned_total'), at('mikopbx_queue_service_level_ratio')]).toEqual([
          t.completedTotal,
          t.abandonedTotal,
          t.serviceLevelRatio,
        ]);
        const members = Object.fromEntries(
          [...seriesOf(s, 'mikopbx_queue_members')].filter(([k]) => k.includes(`queue="${t.queue}"`)).map(([k, v]) => [/state="(\w+)"/.exec(k)?.[1], v]),
        );
        expect(members).toEqual(t.members);
        for (const m of t.memberDetails) {
          expect(s.get(`mikopbx_queue_member_calls_taken_total{queue="${t.queue}",member="${m.member}"}`)).toBe(m.callsTakenTotal);
          expect(s.get(`mikopbx_queue_member_state{queue="${t.queue}",member="${m.member}",state="${m.state}"}`)).toBe(1);
          expect(s.get(`mikopbx_queue_member_paused{queue="${t.queue}",member="${m.member}"}`)).toBe(m.paused ? 1 : 0);
        }
        const info = [...seriesOf(s, 'mikopbx_queue_info').keys()].find((k) => k.includes(`queue="${t.queue}"`));
        expect(info).toBe(`{queue="${t.queue}",name="${t.name.replace(/"/g, '\\"')}",extension="${t.extension}",strategy="${t.strategy}"}`);
      }
      expect(seriesOf(s, 'mikopbx_queue_callers').size).toBe(simAmi.truth().queues.length);
      const core = simAmi.truth().core;
      expect(s.get('mikopbx_asterisk_start_time_seconds')).toBe(core.startTimeSeconds);
      expect(s.get('mikopbx_asterisk_reload_time_seconds')).toBe(core.reloadTimeSeconds);
      expect(s.get('mikopbx_asterisk_processed_calls_total')).toBe(core.processedCallsTotal);
      expect(s.get(`mikopbx_asterisk_info{version="${core.asteriskVersion}"}`)).toBe(1);
    };

    await e.poll();
    await check();

    // calls answered and completed, one abandoned
    clock.advance(5000);
    simAmi.answer(q1);
    simAmi.addCaller(q2, { waitedMs: 3000 });
    clock.advance(30_000);
    simAmi.complete(q1);
    simAmi.abandon(q2);
    await e.poll();
    await check();

    // the statistics reset (QueueReset by someone else, or `queue reset stats`), then more calls
    simAmi.reload();
    simAmi.addCaller(q1);
    clock.advance(4000);
    simAmi.answer(q1);
    clock.advance(20_000);
    simAmi.complete(q1);
    clock.advance(30_000);
    await e.poll();
    await check();

    // an Asterisk restart: sessions dropped, the client reconnects
    simAmi.restart();
    simAmi.addCaller(q2);
    clock.advance(30_000);
    for (let i = 0; i < 100 && e.ami.state() === 'connected'; i++) await sleep(10); // the client sees the hang-up
    expect(e.ami.state()).toBe('backoff');
    for (let i = 0; i < 100 && e.ami.state() !== 'connected'; i++) {
      await e.poll().catch(() => undefined);
      await sleep(20);
    }
    await e.poll();
    await check();

    // a queue deleted in the web UI
    simAmi.removeQueue(q2);
    clock.advance(30_000);
    await e.poll();
    await check();
    expect(await e.registry.metrics()).not.toContain(q2);

    const sent = new Set(simAmi.actions.map((a) => a.action));
    expect([...sent].every((a) => (ALLOWED_ACTIONS as readonly string[]).includes(a))).toBe(true);
    expect(sent.has('QueueReset')).toBe(false);
    expect(simAmi.sessions().every((x) => !x.events && x.eventsSent === 0)).toBe(true);
  });
});
