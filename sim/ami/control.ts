// /__sim/ami/… control paths (see sim/README.md): drive the AMI side from another process.

import type { AddCallerOptions, AddQueueOptions, SimAmi } from './index.js';
import type { AmiFaultSpec } from './server.js';

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw new Error(`${name} must be a non-empty string`);
  return v;
};

/** undefined = no such control path */
export function amiControl(ami: SimAmi, method: string, op: string | undefined, input: Record<string, unknown>, query: URLSearchParams): unknown {
  switch (`${method} ${op ?? ''}`) {
    case 'GET ':
    case 'GET truth':
      return ami.truth();
    case 'GET actions':
      return ami.actions.slice(Number(query.get('since') ?? 0));
    case 'DELETE actions':
      ami.actions.length = 0;
      return { ok: true };
    case 'GET stats':
      return { ...ami.stats, sessions: ami.sessions() };
    case 'POST reload':
      ami.reload(input.resetQueueStats === false ? { resetQueueStats: false } : {});
      return ami.truth().core;
    case 'POST restart':
      ami.restart();
      return ami.truth().core;
    case 'POST drop':
      return { dropped: ami.dropConnections() };
    case 'POST greeting':
      ami.setGreeting(str(input.greeting, 'greeting'));
      return { ok: true };
    case 'POST queue':
      return ami.addQueue(input as AddQueueOptions);
    case 'DELETE queue':
      return { removed: ami.removeQueue(str(input.id, 'id')) };
    case 'POST caller':
      return ami.addCaller(str(input.queue, 'queue'), input as AddCallerOptions);
    case 'POST answer':
      return { answered: ami.answer(str(input.queue, 'queue'), typeof input.member === 'string' ? input.member : undefined) };
    case 'POST complete':
      return { completed: ami.complete(str(input.queue, 'queue'), typeof input.member === 'string' ? input.member : undefined) };
    case 'POST abandon':
      return { abandoned: ami.abandon(str(input.queue, 'queue'), typeof input.position === 'number' ? input.position : 1) };
    case 'POST pause':
      ami.pauseMember(str(input.queue, 'queue'), str(input.member, 'member'), input.paused !== false, typeof input.reason === 'string' ? input.reason : '');
      return { ok: true };
    case 'POST member-status':
      ami.setMemberStatus(str(input.queue, 'queue'), str(input.member, 'member'), input.state as number);
      return { ok: true };
    case 'GET faults':
      return ami.faults();
    case 'POST faults':
      ami.fault(input as unknown as AmiFaultSpec);
      return ami.faults();
    case 'DELETE faults':
      ami.clearFaults();
      return { ok: true };
    default:
      return undefined;
  }
}
