import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { PbxTarget } from '../../src/target.js';
import { DEFAULT_API_KEY, DEFAULT_LOGIN, DEFAULT_PASSWORD, startSimulator, type Simulator } from '../../sim/index.js';
import { testConfig } from '../helpers/fixtures.js';
import { FakeClock, httpGet, startHarness } from '../helpers/harness.js';
import { startSim } from '../helpers/sim.js';
import { parseExposition } from '../helpers/exposition.js';
import { expectStatusMatchesTruth } from '../helpers/truth.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

// The legacy counterpart of test/e2e/v3.test.ts: a PbxTarget polling the simulator in legacy mode
// must report exactly model.truth(). In-process, so that polls, session expiry and upgrades happen
// at chosen moments.

const promtool = toolOrSkip('promtool');

/** The exporter's view, rebuilt from its exposition, in the simulator's truth() vocabulary. */
function observed(target: PbxTarget) {
  const text = target.metricsText();
  const samples = parseExposition(text);
  const byLabel = (name: string, label: string) => {
    const out: Record<string, number> = {};
    const re = new RegExp(`^${name}\\{.*${label}="([^"]*)"`);
    for (const [k, v] of samples) {
      const m = re.exec(k);
      if (m) out[m[1] as string] = v;
    }
    return out;
  };
  return {
    text,
    samples,
    up: samples.get('mikopbx_up'),
    peerUp: byLabel('mikopbx_sip_peer_up', 'extension'),
    registered: byLabel('mikopbx_provider_registered', 'provider'),
    peers: byLabel('mikopbx_sip_peers', 'status'),
    activeCalls: byLabel('mikopbx_active_calls', 'direction'),
    providerActiveCalls: byLabel('mikopbx_provider_active_calls', 'provider'),
    channels: samples.get('mikopbx_active_channels'),
  };
}

/** Every status series against truth() (names, info labels, states, calls), and promtool-valid. */
function expectTruth(sim: Simulator, target: PbxTarget): void {
  const text = target.metricsText();
  expectStatusMatchesTruth(text, sim.model.truth());
  if (promtool) expect(promtoolCheckMetrics(promtool, text).output).toBe('');
}

describe('end to end: exporter against the legacy simulator', () => {
  let sim: Simulator | undefined;
  let target: PbxTarget | undefined;
  const lines: string[] = [];

  async function start(simOpts: Parameters<typeof startSimulator>[0], config: Parameters<typeof testConfig>[0] = {}) {
    sim = await startSimulator({ seed: 7, activeCalls: 4, ...simOpts });
    lines.length = 0;
    const logger = createLogger({ level: 'debug', secrets: [DEFAULT_PASSWORD, DEFAULT_API_KEY], write: (l) => lines.push(l) });
    target = new PbxTarget({
      config: testConfig({ url: sim.url, apiKey: undefined, login: DEFAULT_LOGIN, password: DEFAULT_PASSWORD, ...config }),
      logger,
    });
    return { sim, target };
  }

  afterEach(async () => {
    target?.close();
    await sim?.close();
    target = undefined;
    sim = undefined;
  });

  it('reports what the simulated legacy PBX holds, logging in once', async () => {
    const { sim, target } = await start({ mode: 'legacy' });
    await target.runStatusPoll();
    expectTruth(sim, target);
    await target.runStatusPoll();
    expectTruth(sim, target);
    expect(sim.stats.loginAttempts).toBe(1);
    expect(sim.stats.failedLogins).toBe(0);
    expect(sim.stats.unauthenticatedRequests).toBe(0);
    // no trunk endpoint among the extensions
    expect(observed(target).text).not.toMatch(/extension="(SIP|IAX)-/);
  });

  it('shows a rejected trunk at the next poll, and a deleted trunk disappears', async () => {
    const { sim, target } = await start({ mode: 'legacy' });
    await target.runStatusPoll();
    const truth = sim.model.truth();
    const [trunk] = Object.entries(truth.providers).find(([, p]) => p.registered && p.protocol === 'sip') ?? [];
    expect(trunk).toBeDefined();
    sim.model.setProviderState(trunk as string, 'rejected');
    await target.runStatusPoll();
    expect(observed(target).samples.get(`mikopbx_provider_state{provider="${trunk}",state="rejected"}`)).toBe(1);
    expectTruth(sim, target);
    sim.model.deleteProvider(trunk as string);
    await target.runStatusPoll();
    expect(observed(target).text).not.toContain(`provider="${trunk}"`);
  });

  it('maps raw IAX registry states into the fixed state set, as v3 does', async () => {
    const { sim, target } = await start({ mode: 'legacy' });
    const iax = sim.model.providers().find((p) => p.type === 'iax' && p.registration_type !== 'none');
    expect(iax).toBeDefined();
    const id = (iax as { id: string }).id;
    for (const [raw, state] of [
      ['Request Sent', 'unregistered'],
      ['Auth. Sent', 'unregistered'],
      ['Timeout', 'unregistered'],
      ['No Authentication', 'unregistered'],
      ['Error register.', 'unregistered'],
      ['Rejected', 'rejected'],
      ['Registered', 'registered'],
    ] as const) {
      sim.model.setProviderState(id, state, { legacy: raw });
      await target.runStatusPoll();
      const o = observed(target);
      expect([raw, o.samples.get(`mikopbx_provider_state{provider="${id}",state="${state}"}`)]).toEqual([raw, 1]);
      expect(o.registered[id]).toBe(state === 'registered' ? 1 : 0);
      expect(sim.model.truth().providers[id]?.state).toBe(state);
      expectTruth(sim, target);
    }
  });

  it('after the sessions expired: exactly one new login', async () => {
    const { sim, target } = await start({ mode: 'legacy' });
    await target.runStatusPoll();
    expect(sim.expireSessions()).toBe(1);
    await target.runStatusPoll();
    expectTruth(sim, target);
    expect(sim.stats.loginAttempts).toBe(2);
    expect(sim.stats.unauthenticatedRequests).toBe(1);
    await target.runStatusPoll();
    expect(sim.stats.loginAttempts).toBe(2);
  });

  it('with a wrong password: one failed login, mikopbx_up 0, nothing more during the back-off', async () => {
    const { sim, target } = await start({ mode: 'legacy' }, { password: 'not-the-password' });
    for (let i = 0; i < 20; i++) await target.runStatusPoll();
    expect(sim.stats.loginAttempts).toBe(1);
    expect(sim.stats.failedLogins).toBe(1);
    expect(sim.stats.unauthenticatedRequests).toBe(0);
    expect(observed(target).up).toBe(0);
    expect(lines.join('\n')).toMatch(/wrong MIKOPBX_LOGIN or MIKOPBX_PASSWORD/);
  });

  it('follows an upgrade to v3 across an outage, and a downgrade back', async () => {
    const { sim: first, target } = await start({ mode: 'legacy' }, { apiKey: DEFAULT_API_KEY });
    await target.runStatusPoll();
    expect(target.generation).toBe('legacy');
    expectTruth(first, target);

    // the PBX goes down for its upgrade and comes back on the same address speaking v3
    const port = first.port;
    await first.close();
    await target.runStatusPoll();
    const down = observed(target);
    expect(down.up).toBe(0);
    expect(down.samples.get('mikopbx_collector_success{collector="peers"}')).toBe(0);
    if (promtool) expect(promtoolCheckMetrics(promtool, down.text).output).toBe('');
    sim = await startSimulator({ seed: 7, activeCalls: 4, port, mode: 'v3' });
    await target.runStatusPoll();
    expect(target.generation).toBe('v3');
    expectTruth(sim, target);
    expect(observed(target).samples.get('mikopbx_api_info{api="legacy"}')).toBeUndefined();

    // and back (a restored backup)
    await sim.close();
    await target.runStatusPoll();
    sim = await startSimulator({ seed: 7, activeCalls: 4, port, mode: 'legacy' });
    await target.runStatusPoll();
    expect(target.generation).toBe('legacy');
    expectTruth(sim, target);
    expect(sim.stats.loginAttempts).toBe(1);
  });

  it('follows sim.setMode() upgrades that happen between two polls, with no outage seen', async () => {
    const { sim, target } = await start({ mode: 'legacy' }, { apiKey: DEFAULT_API_KEY });
    await target.runStatusPoll();
    expectTruth(sim, target);
    sim.setMode('v3');
    await target.runStatusPoll(); // legacy routes answer 404 now
    await target.runStatusPoll(); // detects v3
    expect(target.generation).toBe('v3');
    expectTruth(sim, target);
    sim.setMode('legacy');
    await target.runStatusPoll();
    await target.runStatusPoll();
    expect(target.generation).toBe('legacy');
    expectTruth(sim, target);
    expect(sim.stats.loginAttempts).toBe(2); // one per legacy period
    expect(sim.stats.unauthenticatedRequests).toBe(0);
  });

  it('never shows the password or a session id the PBX issued: logs, /metrics, landing page', async () => {
    const clock = new FakeClock();
    const pbx = await startSim(clock, { mode: 'legacy' });
    sim = pbx;
    const h = await startHarness({ url: pbx.url, apiKey: undefined, login: DEFAULT_LOGIN, password: DEFAULT_PASSWORD }, clock);
    try {
      pbx.expireSessions();
      clock.advance(30_000);
      await h.poll(); // one 401, one new login
      pbx.faults.set({ kind: 'http-500', paths: ['/pbxcore/api/sip/'] });
      clock.advance(30_000);
      await h.poll(); // a failure on the landing page too
      pbx.faults.clear();
      const sessionIds = pbx.issuedSessionIds();
      expect(sessionIds).toHaveLength(2);
      const landing = await httpGet(`${h.base}/`);
      expect(landing.text).toContain('HTTP 500');
      const outputs = { log: h.lines.join('\n'), metrics: await h.metrics(), landing: landing.text };
      expect(outputs.log).toMatch(/logged in to the legacy MikoPBX web admin/);
      for (const [where, text] of Object.entries(outputs)) {
        for (const secret of [DEFAULT_PASSWORD, ...sessionIds]) expect(text.includes(secret), `${where} shows ${secret}`).toBe(false);
      }
    } finally {
      await h.close();
    }
  });
});
