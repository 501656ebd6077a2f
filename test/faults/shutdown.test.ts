import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/harness.js';
import { ensureBuilt, runMain } from '../helpers/main-process.js';
import { SIM_API_KEY, startSim, type Simulator } from '../helpers/sim.js';

const KEY = SIM_API_KEY;

function env(pbx: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return { MIKOPBX_URL: pbx.url, MIKOPBX_API_KEY: KEY, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: 'debug', ...extra };
}

/** Opens a keep-alive connection to /metrics and leaves it open. */
function keepAliveScrape(port: number): Promise<http.Agent> {
  const agent = new http.Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(agent));
      })
      .on('error', reject);
  });
}

describe('graceful shutdown of the built exporter (dist/main.js)', () => {
  let pbx: Simulator;
  beforeAll(async () => {
    ensureBuilt();
    const clock = new FakeClock();
    clock.useRealTime();
    pbx = await startSim(clock);
  });
  afterAll(async () => {
    await pbx.close();
  });

  it('SIGTERM during a hanging poll with a keep-alive scrape open: stops polling and exits 0 within a few seconds', async () => {
    pbx.faults.set({ kind: 'hang' }); // every path, the version detection's ping too
    const p = runMain(env(pbx, { MIKOPBX_TIMEOUT_SECONDS: '60', POLL_INTERVAL_SECONDS: '1' }));
    const listening = JSON.parse(await p.waitFor(/mikopbx-exporter listening/)) as { port: number };
    const agent = await keepAliveScrape(listening.port);
    // Wait until the first request is hanging at the PBX.
    while (pbx.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    p.child.kill('SIGTERM');
    const code = await p.exited;
    const took = performance.now() - t0;
    agent.destroy();
    pbx.faults.clear();
    expect(code).toBe(0);
    expect(took).toBeLessThan(4000);
    const out = p.stdout.join('\n');
    expect(out).toMatch(/"signal":"SIGTERM".*shutting down/);
    expect(out).toMatch(/"msg":"stopped"/);
    // An aborted poll is not a PBX failure: no warning about it.
    expect(out).not.toMatch(/"level":"(warn|error|fatal)"/);
    expect(out).not.toContain(KEY);
  });

  it('SIGINT when idle exits 0 at once, and nothing is sent to the PBX afterwards', async () => {
    const p = runMain(env(pbx));
    await p.waitFor(/mikopbx-exporter listening/);
    await p.waitFor(/MikoPBX API generation detected/);
    const t0 = performance.now();
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    const sent = pbx.requests.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(pbx.requests.length).toBe(sent);
    expect(p.stdout.join('\n')).toMatch(/"signal":"SIGINT".*shutting down/);
  });

  it('a port already in use is a clear start-up error (exit 1), not a crash loop with a stack trace', async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const p = runMain(env(pbx, { LISTEN_PORT: String(port) }));
    expect(await p.exited).toBe(1);
    expect(p.stdout.join('\n')).toMatch(/cannot start: .*EADDRINUSE.*port \d+ is in use; set LISTEN_PORT/);
    await new Promise<void>((r) => blocker.close(() => r()));
  });
});
