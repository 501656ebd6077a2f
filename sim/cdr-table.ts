// cdr_general: append-only, ids strictly increasing, so id cursors use binary search.

import { createHash } from 'node:crypto';
import type { PbxClock } from './clock.js';
import type { CdrRow } from './types.js';

export class CdrTable {
  readonly rows: CdrRow[] = [];
  private readonly byLinkedid = new Map<string, CdrRow[]>();
  private nextId = 1;
  /** rows the last /cdr query looked at (diagnostic: the id cursor must not scan the table) */
  lastScanned = 0;

  /** assigns the next id to the row (mutating it) and stores it */
  append(row: CdrRow): CdrRow {
    const full = row;
    full.id = this.nextId++;
    this.rows.push(full);
    const list = this.byLinkedid.get(full.linkedid);
    if (list) list.push(full);
    else this.byLinkedid.set(full.linkedid, [full]);
    return full;
  }

  maxId(): number {
    return this.rows.length === 0 ? 0 : (this.rows[this.rows.length - 1] as CdrRow).id;
  }

  /** index of the first row with id > id */
  indexAfter(id: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.rows[mid] as CdrRow).id > id) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  legsOf(linkedid: string): CdrRow[] {
    return this.byLinkedid.get(linkedid) ?? [];
  }
}

/** API leg record (`DataStructure::createFromModel`): ids and durations are numbers, the rest strings. */
export function renderCdrRow(row: CdrRow, clock: PbxClock): Record<string, string | number> {
  let recordingfile = '';
  let playback = '';
  let download = '';
  if (row.recorded) {
    const d = clock.local(row.startMs);
    const dir = `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${d.slice(11, 13)}`;
    recordingfile = `/storage/usbdisk1/mikopbx/astspool/monitor/${dir}/${row.uniqueid}.webm`;
    const token = createHash('md5').update(`token:${row.id}:${row.uniqueid}`).digest('hex');
    playback = `/pbxcore/api/v3/cdr:playback?token=${token}`;
    download = `/pbxcore/api/v3/cdr:download?token=${token}`;
  }
  return {
    id: row.id,
    start: row.start,
    endtime: clock.local(row.endMs),
    answer: row.answerMs === null ? '' : clock.local(row.answerMs),
    src_chan: row.src_chan,
    src_num: row.src_num,
    src_name: row.src_name,
    dst_chan: row.dst_chan,
    dst_num: row.dst_num,
    dst_name: row.dst_name,
    UNIQUEID: row.uniqueid,
    linkedid: row.linkedid,
    did: row.did,
    disposition: row.disposition,
    recordingfile,
    from_account: row.from_account,
    to_account: row.to_account,
    dialstatus: row.dialstatus,
    appname: row.appname,
    transfer: row.transfer,
    is_app: row.is_app,
    duration: row.duration,
    billsec: row.billsec,
    work_completed: '1',
    src_call_id: '',
    dst_call_id: '',
    verbose_call_id: row.verbose_call_id,
    rec_src_channel: row.recorded ? '1' : '',
    dtmf_digits: '',
    playback_url: playback,
    download_url: download,
  };
}
