import { describe, expect, it } from 'vitest';
import type { ActiveLeg, Provider } from '../../src/api/types.js';
import { parseActiveChannels } from '../../src/api/calls-parse.js';
import { endpointOfChannel } from '../../src/collectors/channels.js';
import { summariseActiveCalls } from '../../src/collectors/calls.js';
import { fixtureJson } from '../helpers/fixtures.js';

const provider = (id: string): Provider => ({ id, name: id, protocol: 'sip', host: '', username: '', state: 'registered', rttSeconds: null, stateSince: null });
const leg = (l: Partial<ActiveLeg> & { linkedid: string }): ActiveLeg => ({ srcChannel: null, dstChannel: null, srcNum: '', dstNum: '', ended: false, ...l });

describe('channel names', () => {
  it.each([
    ['PJSIP/SIP-TRUNK-3F9A1C7B-0000012a', 'SIP-TRUNK-3F9A1C7B'],
    ['PJSIP/202-0000012b', '202'],
    ['IAX2/IAX-TRUNK-7E6D5C4B-4711', 'IAX-TRUNK-7E6D5C4B'],
    ['PJSIP/201-WS-00000141', '201-WS'],
    ['Local/201@internal-00000012;1', '201@internal'],
  ])('%s belongs to %s', (ch, ep) => expect(endpointOfChannel(ch)).toBe(ep));
});

describe('summariseActiveCalls', () => {
  it('counts calls by linkedid, direction by trunk channels, and distinct live channels', () => {
    const legs = parseActiveChannels(fixtureJson('v3/active-channels.json').data);
    const s = summariseActiveCalls(
      { legs, hasChannels: true },
      [provider('SIP-TRUNK-3F9A1C7B'), provider('SIP-TRUNK-IDLE0000'), provider('IAX-TRUNK-7E6D5C4B')],
      null,
    );
    expect(s.byDirection).toEqual({ inbound: 1, outbound: 1, internal: 1 });
    // trunk leg ringing two phones: 3 channels; outbound: 2; internal: 2
    expect(s.channels).toBe(7);
    expect(Object.fromEntries(s.byProvider)).toEqual({ 'SIP-TRUNK-3F9A1C7B': 1, 'SIP-TRUNK-IDLE0000': 0, 'IAX-TRUNK-7E6D5C4B': 1 });
    expect([...s.liveExtensions].sort()).toEqual(['201', '202', '203', '204']);
  });

  it('counts a call with ended legs once, and its ended legs add no channels', () => {
    const s = summariseActiveCalls(
      {
        hasChannels: true,
        legs: [
          leg({ linkedid: 'a', srcChannel: 'PJSIP/201-01', dstChannel: 'PJSIP/202-02', ended: true }),
          leg({ linkedid: 'a', srcChannel: 'PJSIP/201-01', dstChannel: 'PJSIP/203-03' }),
        ],
      },
      [],
      null,
    );
    expect(s.byDirection).toEqual({ inbound: 0, outbound: 0, internal: 1 });
    expect(s.channels).toBe(2);
  });

  it('recognises trunks by id pattern before the providers collector has run', () => {
    const s = summariseActiveCalls(
      { hasChannels: true, legs: [leg({ linkedid: 'x', srcChannel: 'PJSIP/201-1', dstChannel: 'PJSIP/SIP-1686130546-2' })] },
      null,
      null,
    );
    expect(s.byDirection.outbound).toBe(1);
    expect(s.byProvider.get('SIP-1686130546')).toBe(1);
  });

  it('decides direction by numbers when there are no channel names', () => {
    const ext = new Set(['201', '202']);
    const s = summariseActiveCalls(
      {
        hasChannels: false,
        legs: [
          leg({ linkedid: 'in', srcNum: '79161234567', dstNum: '202' }),
          leg({ linkedid: 'out', srcNum: '201', dstNum: '84991234567' }),
          leg({ linkedid: 'int', srcNum: '201', dstNum: '202' }),
          leg({ linkedid: 'int', srcNum: '201', dstNum: '202', ended: true }),
        ],
      },
      null,
      ext,
    );
    expect(s.byDirection).toEqual({ inbound: 1, outbound: 1, internal: 1 });
  });
});
