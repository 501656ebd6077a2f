/* eslint-disable @typescript-eslint/no-explicit-any -- API responses are untyped JSON */
import { describe, expect, it } from 'vitest';
import type { Direction, DispositionBucket, Simulator, SimTruth } from '../../sim/index.js';
import { CALL_SCENARIOS, normalizeProviderState } from '../../sim/index.js';
import { getJson, manualClock, simsClosedAfterEach } from './helpers.js';

const sim = simsClosedAfterEach();

/** What an exporter following the contract derives from the API: an independent check of truth(). */
async function exporterView(s: Simulator, cdrAfterId: number) {
  const providers = (await getJson(s, '/pbxcore/api/v3/providers:getStatuses?forceCheck=true')).json.data;
  const all = { ...(Array.isArray(providers.sip) ? {} : providers.sip), ...(Array.isArray(providers.iax) ? {} : providers.iax) };
  const ids = new Set(Object.keys(all));
  const isProviderChan = (chan: string): string | null => {
    const m = /^(?:PJSIP|IAX2)\/(.+)-[0-9a-f]+$/.exec(chan) ?? /^IAX2\/(.+)-\d+$/.exec(chan);
    return m && ids.has(m[1] as string) ? (m[1] as string) : null;
  };
  const peers = (await getJson(s, '/pbxcore/api/v3/sip:getStatuses?forceCheck=true')).json.data;
  const extensions = { available: 0, unavailable: 0, unknown: 0 };
  for (const e of Object.values<any>(peers)) {
    const st = String(e.status).toLowerCase();
    extensions[st === 'available' ? 'available' : st === 'unavailable' ? 'unavailable' : 'unknown']++;
  }
  const providerStates = Object.fromEntries(Object.values<any>(all).map((p) => [p.id, normalizeProviderState(p.state)]));

  const channels = (await getJson(s, '/pbxcore/api/v3/pbx-status:getActiveChannels')).json.data as Record<string, string>[];
  const byCall = new Map<string, Record<string, string>[]>();
  for (const row of channels) byCall.set(row.linkedid as string, [...(byCall.get(row.linkedid as string) ?? []), row]);
  const activeCalls = { inbound: 0, outbound: 0, internal: 0 };
  const providerActive: Record<string, number> = Object.fromEntries([...ids].map((id) => [id, 0]));
  for (const legs of byCall.values()) {
    const inP = legs.map((l) => isProviderChan(l.src_chan as string)).find((x) => x);
    const outP = legs.map((l) => isProviderChan(l.dst_chan as string)).find((x) => x);
    activeCalls[inP ? 'inbound' : outP ? 'outbound' : 'internal']++;
    const p = inP ?? outP;
    if (p) providerActive[p] = (providerActive[p] ?? 0) + 1;
  }
  const activeChannels = new Set(channels.flatMap((r) => [r.src_chan, r.dst_chan])).size;

  const legs: any[] = [];
  let cursor = cdrAfterId;
  for (;;) {
    const page = (await getJson(s, `/pbxcore/api/v3/cdr?grouped=false&sort=id&order=ASC&limit=1000&idFrom=${cursor}&dateFrom=2000-01-01`)).json.data;
    if (page.records.length === 0) break;
    legs.push(...page.records);
    cursor = page.pagination.lastId;
  }
  const calls: Record<Direction, Record<DispositionBucket, number>> = {
    inbound: { answered: 0, noanswer: 0, busy: 0, cancel: 0, failed: 0, other: 0 },
    outbound: { answered: 0, noanswer: 0, busy: 0, cancel: 0, failed: 0, other: 0 },
    internal: { answered: 0, noanswer: 0, busy: 0, cancel: 0, failed: 0, other: 0 },
  };
  const groups = new Map<string, any[]>();
  for (const l of legs) groups.set(l.linkedid, [...(groups.get(l.linkedid) ?? []), l]);
  for (const g of groups.values()) {
    const inP = g.map((l) => isProviderChan(l.src_chan)).find((x) => x);
    const outP = g.map((l) => isProviderChan(l.dst_chan)).find((x) => x);
    const dir: Direction = inP ? 'inbound' : outP ? 'outbound' : 'internal';
    const first = [...g].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id - b.id))[0];
    let disp: DispositionBucket;
    if (g.some((l) => l.disposition === 'ANSWERED' || l.disposition === 'ANSWER')) disp = 'answered';
    else {
      const d = first.disposition;
      disp =
        d === 'NOANSWER'
          ? 'noanswer'
          : d === 'BUSY'
            ? 'busy'
            : d === 'CANCEL'
              ? 'cancel'
              : ['CONGESTION', 'CHANUNAVAIL', 'FAILED'].includes(d)
                ? 'failed'
                : 'other';
    }
    calls[dir][disp]++;
  }
  return { extensions, providerStates, activeCalls, providerActive, activeChannels, calls, records: legs.length };
}

function compareWithTruth(view: Awaited<ReturnType<typeof exporterView>>, truth: SimTruth): void {
  expect(view.extensions).toEqual(truth.extensions);
  expect(view.providerStates).toEqual(Object.fromEntries(Object.entries(truth.providers).map(([id, p]) => [id, p.state])));
  expect(view.activeCalls).toEqual(truth.activeCalls);
  expect(view.providerActive).toEqual(truth.providerActiveCalls);
  expect(view.activeChannels).toBe(truth.activeChannels);
  expect(view.calls).toEqual(truth.cdr.calls);
  expect(view.records).toBe(truth.cdr.records);
}

describe('ground truth', () => {
  it('matches what a contract-following exporter derives from the API (static PBX)', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, extensions: 30, providers: 12, activeCalls: 8, historyCalls: 0 });
    const base = s.model.maxCdrId();
    for (const scenario of CALL_SCENARIOS) {
      const c = s.model.startCall(scenario);
      clock.advance(500);
      s.model.endCall(c.linkedid);
    }
    s.model.generateCalls(300);
    const truth = s.model.truth({ cdrAfterId: base });
    expect(truth.activeCallsTotal).toBe(8);
    expect(truth.cdr.callsTotal).toBe(CALL_SCENARIOS.length + 300);
    compareWithTruth(await exporterView(s, base), truth);
  });

  it('stays consistent while the PBX lives (ticks, outages, calls ending)', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, extensions: 40, providers: 8, activeCalls: 6, cdrCallsPerSecond: 0.5, historyCalls: 5 });
    const base = s.model.maxCdrId();
    for (let i = 0; i < 120; i++) {
      clock.advance(1000);
      s.tick();
    }
    const truth = s.model.truth({ cdrAfterId: base });
    expect(truth.cdr.callsTotal).toBeGreaterThan(10);
    compareWithTruth(await exporterView(s, base), truth);
  });

  it('counts only calls written after cdrAfterId and fills every label value', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, historyCalls: 20, activeCalls: 0 });
    const base = s.model.maxCdrId();
    const t0 = s.model.truth({ cdrAfterId: base });
    expect(t0.cdr.callsTotal).toBe(0);
    expect(t0.cdr.calls.inbound).toEqual({ answered: 0, noanswer: 0, busy: 0, cancel: 0, failed: 0, other: 0 });
    expect(Object.keys(t0.providersByState).sort()).toEqual(['lagged', 'off', 'ok', 'registered', 'rejected', 'unknown', 'unreachable', 'unregistered']);
    const c = s.model.startCall('busy');
    expect(s.model.truth().activeCalls.outbound).toBe(1);
    s.model.endCall(c.linkedid);
    const t1 = s.model.truth({ cdrAfterId: base });
    expect(t1.cdr.callsTotal).toBe(1);
    expect(t1.cdr.calls.outbound.busy).toBe(1);
    expect(t1.activeCallsTotal).toBe(0);
    expect(t1.cdr.providerCalls[c.provider as string]?.outbound.busy).toBe(1);
  });
});

describe('scenarios', () => {
  it('produce the documented legs and dispositions', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, extensions: 20, historyCalls: 0, activeCalls: 0 });
    const rowsOf = (scenario: (typeof CALL_SCENARIOS)[number], dialstatus?: string) => {
      const c = s.model.startCall(scenario, dialstatus ? { dialstatus } : {});
      clock.advance(2000);
      s.model.endCall(c.linkedid);
      return { info: c, rows: s.model.cdrRows().filter((r) => r.linkedid === c.linkedid), done: s.model.completedCalls().at(-1) };
    };
    const busy = rowsOf('busy');
    expect(busy.rows.map((r) => r.disposition)).toEqual(['BUSY']);
    expect(busy.done?.disposition).toBe('busy');
    expect(busy.info.direction).toBe('outbound');
    const failed = rowsOf('failed');
    expect(['CONGESTION', 'CHANUNAVAIL']).toContain(failed.rows[0]?.disposition);
    expect(failed.done?.disposition).toBe('failed');
    expect(rowsOf('cancel').rows[0]?.disposition).toBe('CANCEL');
    expect(rowsOf('noanswer').rows[0]?.disposition).toBe('NOANSWER');
    const odd = rowsOf('unknown-disposition');
    expect(odd.rows[0]?.disposition).toBe('TORTURE');
    expect(odd.done?.disposition).toBe('other');
    const custom = rowsOf('inbound', 'DONTCALL');
    expect(custom.rows[0]?.disposition).toBe('DONTCALL');
    const short = rowsOf('short-answer');
    expect(short.rows[0]).toMatchObject({ disposition: 'ANSWER', billsec: 0, dialstatus: 'ANSWER' });
    expect(short.done?.disposition).toBe('answered');
    const transfer = rowsOf('transfer');
    expect(transfer.rows.length).toBe(3);
    expect(transfer.rows.filter((r) => r.disposition === 'ANSWERED').length).toBeGreaterThanOrEqual(2);
    expect(transfer.rows.some((r) => r.transfer === '1')).toBe(true);
    expect(transfer.done?.direction).toBe('inbound');
    const queue = rowsOf('inbound-queue');
    expect(queue.rows.filter((r) => r.disposition === 'NOANSWER').length).toBe(queue.rows.length - 1);
    expect(queue.rows.every((r) => r.from_account === queue.info.provider)).toBe(true);
    const internal = rowsOf('internal');
    expect(internal.rows[0]).toMatchObject({ disposition: 'ANSWERED', did: '' });
    expect(internal.rows[0]?.src_chan).toMatch(/^PJSIP\/\d+-[0-9a-f]{8}$/);
  });

  it('an IAX trunk uses IAX2/ channel names', async () => {
    const clock = manualClock();
    const s = await sim({ now: clock.now, historyCalls: 0, activeCalls: 0 });
    for (const p of s.model.providers()) if (p.type === 'sip') s.model.setProviderState(p.id, 'off');
    const c = s.model.startCall('inbound');
    expect(c.provider).toMatch(/^IAX-TRUNK-[0-9A-F]{8}$/);
    const ch = (await getJson(s, '/pbxcore/api/v3/pbx-status:getActiveChannels')).json.data;
    expect(ch[0].src_chan).toMatch(/^IAX2\/IAX-TRUNK-[0-9A-F]{8}-\d+$/);
  });
});

describe('providers', () => {
  it('keeps PBX casing per registration type and maps states for the contract', async () => {
    const s = await sim({ providers: 4 });
    const [outbound, iax, inbound, disabled] = s.model.providers();
    expect(outbound?.id).toMatch(/^SIP-TRUNK-[0-9A-F]{8}$/);
    expect(iax?.id).toMatch(/^IAX-TRUNK-[0-9A-F]{8}$/);
    expect(inbound?.id).toMatch(/^SIP-PROVIDER-[0-9A-F]{16}$/);
    expect(disabled?.id).toMatch(/^SIP-\d{10}$/);
    expect(disabled?.state).toBe('OFF');
    expect(s.model.setProviderState(outbound!.id, 'REGISTERED').state).toBe('registered');
    expect(s.model.setProviderState(outbound!.id, 'Rejected').state).toBe('rejected');
    expect(s.model.setProviderState(inbound!.id, 'registered').state).toBe('REGISTERED');
    expect(s.model.setProviderState(outbound!.id, 'ok').state).toBe('OK');
    expect(s.model.setProviderState(outbound!.id, 'Frobnicated').state).toBe('Frobnicated');
    expect(s.model.truth().providers[outbound!.id]?.state).toBe('unknown');
    const off = s.model.setProviderState(inbound!.id, 'off');
    expect(off).toMatchObject({ state: 'OFF', disabled: true });
    expect(s.model.truth().providers[inbound!.id]).toMatchObject({ state: 'off', registered: false });
    expect(s.model.deleteProvider(iax!.id)).toBe(true);
    expect(s.model.truth().providers[iax!.id]).toBeUndefined();
  });
});

describe('determinism', () => {
  it('same seed, same clock: same PBX, same API answers, same CDR', async () => {
    const answers: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const clock = manualClock();
      const s = await sim({ now: clock.now, seed: 42, extensions: 25, providers: 9, activeCalls: 5 });
      s.model.generateCalls(50);
      const out: string[] = [];
      for (const p of [
        'sip:getStatuses',
        'providers:getStatuses',
        'pbx-status:getActiveCalls',
        'pbx-status:getActiveChannels',
        'cdr?grouped=false&limit=1000',
        'employees',
      ]) {
        const r = await getJson(s, `/pbxcore/api/v3/${p}`);
        out.push(JSON.stringify(r.json.data));
      }
      out.push(JSON.stringify(s.model.truth()));
      answers.push(out);
    }
    expect(answers[1]).toEqual(answers[0]);
    const clock = manualClock();
    const other = await sim({ now: clock.now, seed: 43, extensions: 25, providers: 9, activeCalls: 5 });
    const r = await getJson(other, '/pbxcore/api/v3/providers:getStatuses');
    expect(JSON.stringify(r.json.data)).not.toEqual(answers[0]?.[1]);
  });

  it('living ticks are deterministic for the same tick sequence', async () => {
    const runs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const clock = manualClock();
      const s = await sim({ now: clock.now, seed: 9, extensions: 30, activeCalls: 4, cdrCallsPerSecond: 1 });
      for (let t = 0; t < 60; t++) {
        clock.advance(1000);
        s.tick();
      }
      runs.push(JSON.stringify([s.model.truth(), s.model.cdrRows(), s.model.listExtensions(), s.model.listProviders()]));
    }
    expect(runs[1]).toBe(runs[0]);
  });
});
