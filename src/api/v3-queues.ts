import { expectArray, expectId, expectObject, isObject, optionalString } from './validate.js';

export const CALL_QUEUES_PATH = '/pbxcore/api/v3/call-queues';

/** A call queue's configuration, for labels: what the Asterisk queue is called in the web UI. */
export interface QueueConfig {
  /** The Asterisk queue name (QueueConf.php writes `[<uniqid>]`). */
  queue: string;
  name: string;
  extension: string;
  strategy: string;
}

/**
 * GET call-queues (CallQueues DataStructure::createForList). The Asterisk name is `uniqid`; builds
 * whose list has no `uniqid` carry it as `id` (mikopbx-monitoring-sources.md §1.12), so `id` is the
 * fallback. A list, or `[]` when empty; a DataTables-like `{data: […]}` is accepted too.
 */
export function parseCallQueues(data: unknown): QueueConfig[] {
  const list = isObject(data) && Array.isArray(data.data) ? data.data : isObject(data) && Array.isArray(data.items) ? data.items : expectArray(data, 'data');
  return list.map((item, i) => {
    const path = `data[${i}]`;
    const q = expectObject(item, path);
    const uniqid = typeof q.uniqid === 'string' && q.uniqid.trim() !== '' ? q.uniqid : null;
    return {
      queue: uniqid ?? expectId(q.id, `${path}.id`),
      name: optionalString(q.name, `${path}.name`),
      extension: optionalString(q.extension, `${path}.extension`),
      strategy: optionalString(q.strategy, `${path}.strategy`),
    };
  });
}
