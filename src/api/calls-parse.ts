import type { ActiveLeg } from './types.js';
import { expectId, expectMapOrList, expectObject, optionalString } from './validate.js';

// Live-call rows, the same shape in both generations: v3 and legacy getActiveChannels, and
// legacy getActiveCalls (mikopbx-api.md §2.4, §3).

/** `pbx-status:getActiveChannels` data: list of live legs with channel names, all values strings. */
export function parseActiveChannels(data: unknown): ActiveLeg[] {
  return expectMapOrList(data, 'data').map((raw, i) => parseActiveLeg(raw, `data[${i}]`).leg);
}

/** getActiveCalls rows (temp CDR): legs incl. already ended ones; no channel names. */
export function parseActiveCallRows(rows: unknown[]): ActiveLeg[] {
  return rows.map((raw, i) => {
    const { leg, row } = parseActiveLeg(raw, `data[${i}]`);
    return { ...leg, ended: optionalString(row.endtime, `data[${i}].endtime`) !== '' };
  });
}

/** The fields both live-call endpoints share; a leg is live unless its row says it ended. */
function parseActiveLeg(raw: unknown, path: string): { leg: ActiveLeg; row: Record<string, unknown> } {
  const row = expectObject(raw, path);
  const leg: ActiveLeg = {
    linkedid: expectId(row.linkedid, `${path}.linkedid`),
    srcChannel: optionalString(row.src_chan, `${path}.src_chan`) || null,
    dstChannel: optionalString(row.dst_chan, `${path}.dst_chan`) || null,
    srcNum: optionalString(row.src_num, `${path}.src_num`),
    dstNum: optionalString(row.dst_num, `${path}.dst_num`),
    ended: false,
  };
  return { leg, row };
}
