import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN, DEFAULT_PASSWORD, startSimulator, type Simulator } from '../../sim/index.js';
import { expectStatusMatchesTruth } from '../helpers/truth.js';
import { distBuilt, observed, startExporterProcess, waitFor, type ExporterProcess } from '../helpers/exporter-process.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

// The built exporter as a real process, configured only with a URL and web-admin credentials,
// against the simulator in legacy mode: the same assertions as the v3 process test.

const promtool = toolOrSkip('promtool');

describe.skipIf(!distBuilt())('end to end: built exporter against the legacy simulator', () => {
  let sim: Simulator;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    sim = await startSimulator({ mode: 'legacy', seed: 7, activeCalls: 4 });
    exporter = await startExporterProcess({
      MIKOPBX_URL: sim.url,
      MIKOPBX_LOGIN: DEFAULT_LOGIN,
      MIKOPBX_PASSWORD: DEFAULT_PASSWORD,
      POLL_INTERVAL_SECONDS: '1',
      // 4 requests a poll: this budget carries 2 s polls (the default 60/min would stretch them to 5 s).
      MIKOPBX_MAX_REQUESTS_PER_MINUTE: '150',
      COLLECTORS: 'peers,providers,calls',
    });
    await waitFor(async () => (await exporter.get('/readyz')).status === 200);
    await waitFor(async () => (await observed(exporter)).up === 1);
  });

  afterAll(async () => {
    await exporter?.stop();
    await sim?.close();
  });

  it('reports what the simulated PBX holds', async () => {
    const o = await observed(exporter);
    expectStatusMatchesTruth(o.text, sim.model.truth());
    if (promtool) expect(promtoolCheckMetrics(promtool, o.text).output).toBe('');
  });

  it('keeps one session across polls, and logs in once more after the sessions expired', async () => {
    expect(sim.stats.loginAttempts).toBe(1);
    sim.expireSessions();
    await waitFor(() => sim.stats.loginAttempts === 2);
    const sent = sim.requests.length;
    await waitFor(() => sim.requests.length >= sent + 8); // two more polls of four requests
    expect(sim.stats.loginAttempts).toBe(2);
    expect(sim.stats.unauthenticatedRequests).toBe(1);
    expect((await observed(exporter)).up).toBe(1);
  });

  it('shows a rejected trunk at a following poll, and a deleted trunk disappears', async () => {
    const [trunk] = Object.entries(sim.model.truth().providers).find(([, p]) => p.registered && p.protocol === 'sip') ?? [];
    expect(trunk).toBeDefined();
    sim.model.setProviderState(trunk as string, 'rejected');
    await waitFor(async () => (await observed(exporter)).registered[trunk as string] === 0);
    const o = await observed(exporter);
    expect(o.samples.get(`mikopbx_provider_state{provider="${trunk}",state="rejected"}`)).toBe(1);
    expectStatusMatchesTruth(o.text, sim.model.truth());

    sim.model.deleteProvider(trunk as string);
    await waitFor(async () => !(await exporter.metrics()).text.includes(`provider="${trunk}"`));
    expectStatusMatchesTruth((await observed(exporter)).text, sim.model.truth());
  });

  it('PBX down: mikopbx_up 0 with a valid /metrics, the process stays up; back to the truth when it returns', async () => {
    const port = sim.port;
    await sim.close();
    await waitFor(async () => (await observed(exporter)).up === 0);
    const down = await observed(exporter);
    expect(down.samples.get('mikopbx_collector_success{collector="peers"}')).toBe(0);
    expect(exporter.child.exitCode).toBeNull();
    expect((await exporter.get('/healthz')).status).toBe(200);
    if (promtool) expect(promtoolCheckMetrics(promtool, down.text).output).toBe('');

    sim = await startSimulator({ mode: 'legacy', seed: 7, activeCalls: 4, port });
    await waitFor(async () => (await observed(exporter)).up === 1);
    expectStatusMatchesTruth((await observed(exporter)).text, sim.model.truth());
    expect(sim.stats.loginAttempts).toBe(1); // a new PBX: one new login
  });

  it('never logs the password', () => {
    expect(exporter.lines.join('\n')).not.toContain(DEFAULT_PASSWORD);
    expect(exporter.lines.join('\n')).toMatch(/logged in to the legacy MikoPBX web admin as admin/);
  });
});
