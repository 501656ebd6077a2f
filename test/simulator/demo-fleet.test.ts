import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../sim/demo.js';
import { httpGet, sample } from '../helpers/harness.js';

// `npm run demo -- --fleet N` through its programmatic entry: a random port, nothing logged, 2 s
// polls (with the budget for them) so the first poll comes soon.
describe('demo --fleet', () => {
  let demo: Demo;

  beforeAll(async () => {
    demo = await startDemo({
      fleet: 3,
      env: { LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: 'silent', POLL_INTERVAL_SECONDS: '2', MIKOPBX_MAX_REQUESTS_PER_MINUTE: '150' },
    });
  });

  afterAll(async () => {
    await demo?.stop();
  });

  it('serves the three PBXs on /targets and a polled PBX on /probe', async () => {
    expect(demo.urls.probe).toBe(`http://127.0.0.1:${demo.port}/probe?target=pbx-1`);
    const sd = JSON.parse((await httpGet(demo.urls.targets as string)).text) as { labels: Record<string, string> }[];
    expect(sd.map((g) => g.labels.__param_target)).toEqual(['pbx-1', 'pbx-2', 'pbx-3']);
    const end = Date.now() + 15_000;
    let up: number | undefined;
    while (up !== 1 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      up = sample((await httpGet(demo.urls.probe as string)).text, 'mikopbx_up');
    }
    expect(up).toBe(1);
    // the last but one is down: its probe answers too, with mikopbx_up 0 once polled
    expect((await httpGet(`http://127.0.0.1:${demo.port}/probe?target=pbx-2`)).status).toBe(200);
  });
});
