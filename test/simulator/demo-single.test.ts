import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../sim/demo.js';
import { httpGet, sample } from '../helpers/harness.js';

// `npm run demo`: the single PBX speaks AMI too, so the Queues row of the dashboard is alive.
describe('demo (one PBX)', () => {
  let demo: Demo;

  beforeAll(async () => {
    demo = await startDemo({ env: { LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: '0', LOG_LEVEL: 'silent' } });
  });

  afterAll(async () => {
    await demo?.stop();
  });

  it('exports the REST collectors and the queues over AMI', async () => {
    const end = Date.now() + 15_000;
    let text = '';
    while (Date.now() < end) {
      text = (await httpGet(demo.urls.metrics)).text;
      if (sample(text, 'mikopbx_up') === 1 && sample(text, 'mikopbx_ami_up') === 1 && /^mikopbx_queue_callers\{/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(sample(text, 'mikopbx_ami_up')).toBe(1);
    expect(text).toMatch(/^mikopbx_queue_info\{queue="[^"]+",name="[^"]+"/m);
    expect(text).toMatch(/^mikopbx_asterisk_info\{version=/m);
  });
});
