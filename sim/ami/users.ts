// AMI users and permissions as manager.conf defines them (MikoPBX ManagerConf.php writes read= and
// write= from 13 classes). Asterisk checks an *action* against the user's write mask; read= only
// decides which unsolicited events a session hears (mikopbx-monitoring-sources.md §2.3).

export const AMI_CLASSES = [
  'system',
  'call',
  'log',
  'verbose',
  'command',
  'agent',
  'user',
  'config',
  'dtmf',
  'reporting',
  'cdr',
  'dialplan',
  'originate',
] as const;
export type AmiClass = (typeof AMI_CLASSES)[number];

export interface AmiUser {
  username: string;
  secret: string;
  write: readonly AmiClass[];
  read?: readonly AmiClass[];
}

export const DEFAULT_AMI_USER: AmiUser = { username: 'exporter', secret: 'Sim-Ami-Secret7', write: ['reporting'], read: [] };

/**
 * Authority of the actions Asterisk 22 registers that the simulator knows about: [] = 0, any
 * logged-in user (app_queue registers QueueStatus, QueueSummary, QueueReset and QueueReload so).
 */
export const ACTION_AUTHORITY: Readonly<Record<string, readonly AmiClass[]>> = {
  ping: [],
  queuestatus: [],
  queuesummary: [],
  queuereset: [],
  queuereload: [],
  queues: [],
  corestatus: ['system', 'reporting'],
  coresettings: ['system', 'reporting'],
  coreshowchannels: ['system', 'reporting'],
  command: ['command'],
  originate: ['originate'],
  queueadd: ['agent'],
  queueremove: ['agent'],
  queuepause: ['agent'],
  pjsipshowendpoints: ['system'],
  pjsipregister: ['system', 'reporting'],
  pjsipunregister: ['system', 'reporting'],
};

export function mayRun(user: AmiUser, action: string): boolean {
  const needs = ACTION_AUTHORITY[action.toLowerCase()];
  if (needs === undefined) return false;
  return needs.length === 0 || needs.some((c) => user.write.includes(c));
}
