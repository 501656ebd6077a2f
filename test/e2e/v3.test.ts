import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_KEY, startSimulator, type Simulator } from '../../sim/index.js';
import { expectStatusMatchesTruth } from '../helpers/truth.js';
import { distBuilt, observed, startExporterProcess, waitFor, type ExporterProcess } from '../helpers/exporter-process.js';
import { toolOrSkip, promtoolCheckMetrics } from '../helpers/tools.js';

const promtool = toolOrSkip('promtool');

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
      // 1 s polls of four endpoints: room for them, still below the simulator's 180/min limiter.
      MIKOPBX_MAX_REQUESTS_PER_MINUTE: '150',
    });
    await waitFor(async () => (await exporter.get('/readyz')).status === 200);
  });

  afterAll(async () => {
    await exporter?.stop();
    await sim?.close();
  });

  it('reports what the simulated PBX holds: every status series, names, info labels, RTTs, devices, state-since', async () => {
    const o = await observed(exporter);
    expectStatusMatchesTruth(o.text, sim.model.truth());
    // The seeded names carry quotes, backslashes and non-Latin text: a real test of the escaping.
    expect(Object.values(sim.model.truth().peers).some((p) => /["\\]/.test(p.name))).toBe(true);
    if (promtool) expect(promtoolCheckMetrics(promtool, o.text).output).toBe('');
  });

  it('shows a rejected trunk at a following poll, and a deleted trunk disappears', async () => {
    const truth = sim.model.truth();
    const [trunk] = Object.entries(truth.providers).find(([, p]) => p.registered) ?? [];
    expect(trunk).toBeDefined();
    sim.model.setProviderState(trunk as string, 'rejected');
    await waitFor(async () => (await observed(exporter)).registered[trunk as string] === 0);
    expectStatusMatchesTruth((await observed(exporter)).text, sim.model.truth());

    sim.model.deleteProvider(trunk as string);
    await waitFor(async () => !(await exporter.metrics()).text.includes(`provider="${trunk}"`));
    expectStatusMatchesTruth((await observed(exporter)).text, sim.model.truth());
  });

  it('survives the PBX going away: up 0, valid /metrics, and back to 1 when it returns', async () => {
    const port = sim.port;
    await sim.close();
    await waitFor(async () => (await observed(exporter)).up === 0);
    expect(exporter.child.exitCode).toBeNull();
    const { text } = await exporter.metrics();
    if (promtool) expect(promtoolCheckMetrics(promtool, text).output).toBe('');
    expect((await exporter.get('/healthz')).status).toBe(200);

    sim = await startSimulator({ seed: 7, port });
    await waitFor(async () => (await observed(exporter)).up === 1);
  });

  it('never logs the API key', () => {
    expect(exporter.lines.join('\n')).not.toContain(DEFAULT_API_KEY);
  });
});

describe('end to end prerequisites', () => {
  it('has the built exporter (npm test builds it first)', () => {
    expect(distBuilt()).toBe(true);
  });
});
