import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_KEY, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { seriesOf } from '../helpers/exposition.js';
import { distBuilt, startExporterProcess, waitFor, type ExporterProcess } from '../helpers/exporter-process.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

const promtool = toolOrSkip('promtool');

/** The exporter's view, rebuilt from /metrics, in the simulator's truth() vocabulary. */
async function observed(exporter: ExporterProcess) {
  const { text, samples } = await exporter.metrics();
  const peerUp = Object.fromEntries([...seriesOf(samples, 'mikopbx_sip_peer_up')].map(([k, v]) => [/extension="([^"]*)"/.exec(k)?.[1], v]));
  const registered = Object.fromEntries([...seriesOf(samples, 'mikopbx_provider_registered')].map(([k, v]) => [/provider="([^"]*)"/.exec(k)?.[1], v]));
  const byLabel = (name: string, label: string) =>
    Object.fromEntries([...seriesOf(samples, name)].map(([k, v]) => [new RegExp(`${label}="([^"]*)"`).exec(k)?.[1], v]));
  return {
    text,
    samples,
    up: samples.get('mikopbx_up'),
    peerUp,
    registered,
    peers: byLabel('mikopbx_sip_peers', 'status'),
    activeCalls: byLabel('mikopbx_active_calls', 'direction'),
    providerActiveCalls: byLabel('mikopbx_provider_active_calls', 'provider'),
    channels: samples.get('mikopbx_active_channels'),
  };
}

describe.skipIf(!distBuilt())('end to end: built exporter against the v3 simulator', () => {
  let sim: Simulator;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, activeCalls: 4 });
    exporter = await startExporterProcess({
      MIKOPBX_URL: sim.url,
      MIKOPBX_API_KEY: DEFAULT_API_KEY,
      POLL_INTERVAL_SECONDS: '1',
      CDR_POLL_INTERVAL_SECONDS: '1',
    });
    await waitFor(async () => (await exporter.get('/readyz')).status === 200);
  });

  afterAll(async () => {
    await exporter?.stop();
    await sim?.close();
  });

  it('reports what the simulated PBX holds', async () => {
    const truth = sim.model.truth();
    const o = await observed(exporter);
    expect(o.up).toBe(1);
    expect(o.samples.get('mikopbx_api_info{api="v3"}')).toBe(1);
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

  it('shows a rejected trunk within one poll, and a deleted trunk disappears', async () => {
    const truth = sim.model.truth();
    const [trunk] = Object.entries(truth.providers).find(([, p]) => p.registered) ?? [];
    expect(trunk).toBeDefined();
    sim.model.setProviderState(trunk as string, 'rejected');
    await waitFor(async () => (await observed(exporter)).registered[trunk as string] === 0, 3000);
    const o = await observed(exporter);
    expect(o.samples.get(`mikopbx_provider_state{provider="${trunk}",state="rejected"}`)).toBe(1);

    sim.model.deleteProvider(trunk as string);
    await waitFor(async () => !(await exporter.metrics()).text.includes(`provider="${trunk}"`), 3000);
  });

  it('survives the PBX going away: up 0, valid /metrics, and back to 1 when it returns', async () => {
    const port = sim.port;
    await sim.close();
    await waitFor(async () => (await observed(exporter)).up === 0, 5000);
    expect(exporter.child.exitCode).toBeNull();
    const { text } = await exporter.metrics();
    if (promtool) expect(promtoolCheckMetrics(promtool, text).output).toBe('');
    expect((await exporter.get('/healthz')).status).toBe(200);

    sim = await startSimulator({ seed: 7, port });
    await waitFor(async () => (await observed(exporter)).up === 1, 5000);
  });

  it('never logs the API key', () => {
    expect(exporter.lines.join('\n')).not.toContain(DEFAULT_API_KEY);
  });
});

describe('end to end prerequisites', () => {
  it('has the built exporter (npm test builds it first)', () => {
    if (process.env.CI) expect(distBuilt()).toBe(true);
  });
});
