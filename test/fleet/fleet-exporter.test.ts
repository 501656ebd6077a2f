import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { loadFleetSettings } from '../../src/config.js';
import { startFleetExporter, type FleetExporter } from '../../src/fleet/fleet-exporter.js';
import { createLogger } from '../../src/log.js';
import { FLEET_METRICS } from '../helpers/contract-metrics.js';
import { httpGet, sample } from '../helpers/harness.js';
import { locateTools, runTool } from '../helpers/prometheus-tools.js';

const promtool = locateTools('promtool');

const lines: string[] = [];
const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });

let dir: string;
let sims: Simulator[] = [];
let exporter: FleetExporter;
let file: string;

const base = (i: number) => ({
  poll_interval_seconds: 2,
  cdr_poll_interval_seconds: 3,
  max_requests_per_minute: 150,
  collectors: ['peers', 'providers', 'calls', 'cdr'],
  labels: { customer: `c${i}` },
});

function writeTargets(targets: object[], modules: Record<string, object>): void {
  writeFileSync(file, stringify({ auth_modules: modules, targets }));
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const probe = (name: string) => httpGet(`http://127.0.0.1:${exporter.port}/probe?target=${encodeURIComponent(name)}`);
const upOf = async (name: string) => sample((await probe(name)).text, 'mikopbx_up');

describe('fleet mode: one process, many PBXs from a targets file', () => {
  let modules: Record<string, object>;
  let targets: object[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-'));
    file = join(dir, 'targets.yaml');
    sims = await Promise.all([
      startSimulator({ seed: 11, apiKey: 'a'.repeat(64), living: false }),
      startSimulator({ seed: 12, apiKey: 'b'.repeat(64), living: false }),
      startSimulator({ seed: 13, mode: 'legacy', living: false }),
      startSimulator({ seed: 14, apiKey: 'd'.repeat(64), living: false }),
    ]);
    writeFileSync(join(dir, 'a.key'), 'a'.repeat(64));
    writeFileSync(join(dir, 'b.key'), 'b'.repeat(64));
    writeFileSync(join(dir, 'c.pw'), sims[2]?.password as string);
    modules = {
      'a-key': { api_key_file: join(dir, 'a.key') },
      'b-key': { api_key_file: join(dir, 'b.key') },
      'c-login': { login: 'admin', password_file: join(dir, 'c.pw') },
    };
    targets = [
      { name: 'alpha', url: sims[0]?.url, auth: 'a-key', ...base(0) },
      { name: 'bravo', url: sims[1]?.url, auth: 'b-key', ...base(1) },
      { name: 'charlie', url: sims[2]?.url, auth: 'c-login', ...base(2), collectors: ['peers', 'providers', 'calls'] },
    ];
    writeTargets(targets, modules);
    const settings = loadFleetSettings({ TARGETS_FILE: file, LISTEN_PORT: '0', LISTEN_ADDRESS: '127.0.0.1' });
    if (!settings) throw new Error('fleet settings expected');
    exporter = await startFleetExporter(settings, logger, { env: { D_KEY: 'd'.repeat(64) }, reloadCheckMs: 200 });
  });

  afterAll(async () => {
    await exporter?.stop();
    await Promise.all(sims.map((s) => s.close()));
  });

  it('polls every target on its own and serves each one on /probe', async () => {
    for (const name of ['alpha', 'bravo', 'charlie']) await until(`${name} up`, async () => (await upOf(name)) === 1);
    const alpha = await probe('alpha');
    expect(alpha.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(alpha.text).toMatch(/^mikopbx_sip_peers\{/m);
    // A probe holds the PBX's metrics only: the process metrics are on /metrics.
    expect(alpha.text).not.toMatch(/^process_/m);
    expect(sample((await probe('charlie')).text, 'mikopbx_api_info{api="legacy"}')).toBe(1);
  });

  it('answers an unknown or missing target with 404/400 and never contacts a URL from a request', async () => {
    const before = sims.map((s) => s.requests.length);
    expect((await probe('nope')).status).toBe(404);
    expect((await probe(sims[3]?.url as string)).status).toBe(404);
    expect((await httpGet(`http://127.0.0.1:${exporter.port}/probe`)).status).toBe(400);
    expect(sims[3]?.requests.length).toBe(before[3]);
  });

  it('serves Prometheus http_sd on /targets with __param_target and the user labels', async () => {
    const sd = JSON.parse((await httpGet(`http://127.0.0.1:${exporter.port}/targets`)).text) as { targets: string[]; labels: Record<string, string> }[];
    expect(sd.map((g) => g.labels.__param_target).sort()).toEqual(['alpha', 'bravo', 'charlie']);
    const alpha = sd.find((g) => g.labels.__param_target === 'alpha');
    expect(alpha).toEqual({ targets: [`127.0.0.1:${exporter.port}`], labels: { customer: 'c0', __metrics_path__: '/probe', __param_target: 'alpha' } });
  });

  it('serves the exporter health on /metrics: targets by state, the shared limits, the reload state', async () => {
    const text = (await httpGet(`http://127.0.0.1:${exporter.port}/metrics`)).text;
    expect(sample(text, 'mikopbx_exporter_targets{state="up"}')).toBe(3);
    expect(sample(text, 'mikopbx_exporter_targets_in_file')).toBe(3);
    expect(sample(text, 'mikopbx_exporter_max_requests_in_flight')).toBe(32);
    expect(sample(text, 'mikopbx_exporter_targets_file_last_reload_successful')).toBe(1);
    expect(text).toMatch(/^mikopbx_exporter_poll_lateness_seconds_count\{schedule="status"\} [1-9]/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).not.toMatch(/^mikopbx_up/m);
    for (const [name, def] of Object.entries(FLEET_METRICS)) expect(text, name).toContain(`# TYPE ${name} ${def.type}`);
  });

  it.skipIf(promtool.skipReason)('serves /metrics and /probe bodies that promtool accepts', async () => {
    for (const path of ['/metrics', '/probe?target=alpha', '/probe?target=charlie']) {
      const text = (await httpGet(`http://127.0.0.1:${exporter.port}${path}`)).text;
      const r = runTool(promtool.paths.promtool as string, ['check', 'metrics'], undefined, text);
      expect(r.status, `${path}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('lists the targets with their state and links on the landing page', async () => {
    const page = await httpGet(`http://127.0.0.1:${exporter.port}/`);
    expect(page.status).toBe(200);
    for (const name of ['alpha', 'bravo', 'charlie']) expect(page.text).toContain(`<a href="probe?target=${name}">${name}</a>`);
    expect(page.text).toMatch(/class="up">up</);
    expect(page.text).toContain('customer=c1');
    expect(page.text).toContain('href="targets"');
  });

  it('reloads: new targets start, removed ones stop, changed ones restart, unchanged ones keep counters and session', async () => {
    const charlie = exporter.fleet.get('charlie')?.target;
    const alpha = exporter.fleet.get('alpha')?.target;
    const requestsBefore = sample((await probe('charlie')).text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/sip/getPeersStatuses",code="200"}') ?? 0;
    const loginsBefore = sims[2]?.stats.loginAttempts as number;
    expect(requestsBefore).toBeGreaterThan(0);
    const next = [
      { ...(targets[0] as object), poll_interval_seconds: 3 }, // changed
      targets[2] as object, // unchanged (charlie)
      { name: 'delta', url: sims[3]?.url, auth: 'd-key', ...base(3) }, // added; bravo removed
    ];
    writeTargets(next, { ...modules, 'd-key': { api_key_env: 'D_KEY' } });
    await until('the reload', () => exporter.fleet.get('delta'));
    expect(exporter.fleet.get('bravo')).toBeUndefined();
    expect((await probe('bravo')).status).toBe(404);
    expect(exporter.fleet.get('charlie')?.target).toBe(charlie);
    expect(exporter.fleet.get('alpha')?.target).not.toBe(alpha);
    await until('delta up', async () => (await upOf('delta')) === 1);
    const requestsAfter = sample((await probe('charlie')).text, 'mikopbx_api_requests_total{endpoint="/pbxcore/api/sip/getPeersStatuses",code="200"}') ?? 0;
    expect(requestsAfter).toBeGreaterThanOrEqual(requestsBefore);
    expect(sims[2]?.stats.loginAttempts).toBe(loginsBefore);
    // bravo's PBX hears nothing more.
    const bravoRequests = sims[1]?.requests.length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(sims[1]?.requests.length).toBe(bravoRequests);
  });

  it('keeps the running set when the file turns bad, and says why', async () => {
    writeFileSync(file, 'targets:\n  - name: Bad Name\n    url: x\n');
    await until(
      'the failed reload',
      async () => sample((await httpGet(`http://127.0.0.1:${exporter.port}/metrics`)).text, 'mikopbx_exporter_targets_file_last_reload_successful') === 0,
    );
    expect(exporter.fleet.size).toBe(3);
    expect(lines.some((l) => /targets file reload failed, keeping the 3 running targets: .*line 2: targets\[0\]\.name must be lower-case/.test(l))).toBe(true);
    expect((await upOf('delta')) ?? 0).toBe(1);
  });
});
