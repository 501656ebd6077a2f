import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { PbxApiError } from '../../src/api/errors.js';
import { Transport } from '../../src/api/transport.js';
import { RequestGate } from '../../src/fleet/request-gate.js';

afterEach(() => nock.cleanAll());

describe('a PBX transport behind the fleet gate', () => {
  it('waits for a slot, and sends nothing (skip reason in_flight) when the poll ends first', async () => {
    const gate = new RequestGate(1);
    const held = await gate.acquire(false, '/other-pbx');
    const pbx = nock('http://pbx.test').get('/pbxcore/api/v3/sip:getStatuses').reply(200, { result: true, data: [] });
    const transport = new Transport({ baseUrl: 'http://pbx.test', timeoutMs: 2000, maxRequestsPerMinute: 60, gate });
    const e = await transport.withDeadline(Date.now() + 300, () => transport.send({ path: '/pbxcore/api/v3/sip:getStatuses' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PbxApiError);
    expect((e as PbxApiError).kind).toBe('in_flight');
    expect(pbx.isDone()).toBe(false);
    expect(transport.budget.remaining()).toBe(60); // nothing sent, nothing spent
    // Once the slot is free, the next poll goes through, and gives the slot back.
    held();
    const res = await transport.withDeadline(Date.now() + 2000, () => transport.send({ path: '/pbxcore/api/v3/sip:getStatuses' }));
    expect(res.status).toBe(200);
    expect(gate.active).toBe(0);
    transport.close();
  });
});
