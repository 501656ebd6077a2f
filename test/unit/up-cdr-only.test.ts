import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PbxTarget } from '../../src/target.js';
import { FakeCdrPbx } from '../helpers/fake-cdr.js';
import { captureLogger, testConfig } from '../helpers/fixtures.js';
import { sample } from '../helpers/exposition.js';

// COLLECTORS=cdr: no status poll ever runs, so mikopbx_up follows the cdr poll.

const PBX = 'http://pbx.test';
const NOW = Date.now();

/** Serves the fake cdr table over HTTP (nock), as test/unit/target-cdr.test.ts does. */
function serveCdr(pbx: FakeCdrPbx) {
  return nock(PBX)
    .get('/pbxcore/api/v3/cdr')
    .query(true)
    .reply((req: unknown) => {
      // nock 15 passes the request (older versions the path)
      const url = new URL(typeof req === 'string' ? req : (req as { url: string }).url, PBX);
      const res = pbx.handle(Object.fromEntries(url.searchParams));
      return [res.status, res.body, { 'content-type': 'application/json' }];
    })
    .persist();
}

describe('mikopbx_up with only the cdr collector', () => {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('is 1 after a cdr poll with a valid answer, 0 after a failed one, and its HELP says so', async () => {
    const pbx = new FakeCdrPbx(NOW, 180);
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['cdr'], apiVersion: 'v3' }), logger, now: () => NOW });
    await target.render();
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);

    const served = serveCdr(pbx);
    await target.runCdrPoll();
    expect(target.results.get('cdr')?.success).toBe(true);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(1);

    served.persist(false);
    nock.cleanAll();
    nock(PBX).get('/pbxcore/api/v3/cdr').query(true).reply(500, 'boom');
    await target.runCdrPoll();
    expect(target.results.get('cdr')?.success).toBe(false);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    expect(target.metricsText()).toContain(
      '# HELP mikopbx_up 1 if the most recent cdr poll got a valid answer from the MikoPBX API (no status collector is enabled), else 0 (a poll the exporter did not send leaves it as it was); refreshed every 60 seconds.',
    );
    target.close();
  });

  it('with status collectors enabled, the cdr poll leaves mikopbx_up alone', async () => {
    const { logger } = await captureLogger('silent');
    const target = new PbxTarget({ config: testConfig({ collectors: ['peers', 'cdr'], apiVersion: 'v3' }), logger, now: () => NOW });
    serveCdr(new FakeCdrPbx(NOW, 180));
    await target.runCdrPoll();
    expect(target.results.get('cdr')?.success).toBe(true);
    expect(sample(target.metricsText(), 'mikopbx_up')).toBe(0);
    target.close();
  });
});
