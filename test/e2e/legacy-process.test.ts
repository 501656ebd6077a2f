import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN, DEFAULT_PASSWORD, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { seriesOf } from '../helpers/exposition.js';
import { distBuilt, startExporterProcess, waitFor, type ExporterProcess } from '../helpers/exporter-process.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

// The built exporter as a real process, configured only with a URL and web-admin credentials,
// against the simulator in legacy mode: the same assertions as the v3 process test.

const promtool = toolOrSkip('promtool');

async function observed(exporter: ExporterProcess) {
  const { text, samples } = await exporter.metrics();
  const byLabel = (name: string, label: string) =>
    Object.fromEntries([...seriesOf(samples, name)].map(([k, v]) => [new RegExp(`${label}="([^"]*)"`).exec(k)?.[1], v]));
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
    const truth = sim.model.truth();
    const o = await observed(exporter);
    expect(o.up).toBe(1);
    expect(o.samples.get('mikopbx_api_info{api="legacy"}')).toBe(1);
    expect(o.peers).toEqual(truth.extensions);
    expect(o.peerUp).toEqual(Object.fromEntries(Object.entries(truth.peers).map(([n, p]) => [n, p.status === 'available' ? 1 : 0])));
    expect(o.registered).toEqual(Object.fromEntries(Object.entries(truth.providers).map(([id, p]) => [id, p.registered ? 1 : 0])));
    expect(o.activeCalls).toEqual(truth.activeCalls);
    expect(o.channels).toBe(truth.activeChannels);
    expect(o.providerActiveCalls).toEqual(truth.providerActiveCalls);
    for (const [id, p] of Object.entries(truth.providers)) {
      expect(o.samples.get(`mikopbx_provider_state{provider="${id}",state="${p.state}"}`)).toBe(1);
    }
    if (promtool) expect(promtoolCheckMetrics(promtool, o.text).output).toBe('');
  });

  it('keeps one session across polls, and logs in once more after the sessions expired', async () => {
    expect(sim.stats.loginAttempts).toBe(1);
    sim.expireSessions();
    await waitFor(() => sim.stats.loginAttempts === 2, 5000);
    await new Promise((r) => setTimeout(r, 2500)); // a few more polls
    expect(sim.stats.loginAttempts).toBe(2);
    expect(sim.stats.unauthenticatedRequests).toBe(1);
    expect((await observed(exporter)).up).toBe(1);
  });

  it('never logs the password', () => {
    expect(exporter.lines.join('\n')).not.toContain(DEFAULT_PASSWORD);
    expect(exporter.lines.join('\n')).toMatch(/logged in to the legacy MikoPBX web admin as admin/);
  });
});
