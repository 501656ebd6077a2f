// The simulator's AMI side: a queue model and Asterisk core state, served over TCP, with controls
// and the truth a correct exporter must report.

import type { PbxClock } from '../clock.js';
import { AsteriskCore, type CoreTruth } from './core.js';
import type { AddCallerOptions, AddQueueOptions, DeviceStateName, QueueModel, QueueTruth, SimCaller, SimQueue } from './queues.js';
import { AmiServer, type AmiActionRecord, type AmiFaultSpec, type AmiGreeting, type AmiSessionInfo, type AmiStats } from './server.js';
import { DEFAULT_AMI_USER, type AmiUser } from './users.js';

export { DEFAULT_AMI_USER, AMI_CLASSES } from './users.js';
export type { AmiClass, AmiUser } from './users.js';
export { QueueModel, DEVICE_STATE_NAMES, MEMBER_STATES } from './queues.js';
export type { AddCallerOptions, AddQueueOptions, DeviceStateName, MemberCountState, QueueTruth, SimCaller, SimMember, SimQueue } from './queues.js';
export type { CoreTruth } from './core.js';
export { AMI_FAULT_KINDS } from './server.js';
export type { AmiActionRecord, AmiFaultKind, AmiFaultSpec, AmiGreeting, AmiSessionInfo, AmiStats } from './server.js';

export interface AmiSimOptions {
  /** TCP port (default 0: any free one) */
  port?: number;
  /** AMI users (default: DEFAULT_AMI_USER, write=reporting) */
  users?: AmiUser[];
  greeting?: AmiGreeting;
  /** Asterisk waits 1 s before refusing a login; the simulator 0 unless told */
  failedLoginDelayMs?: number;
  /** false: CoreStatus without CoreProcessedCalls (Asterisk before 20.12 / 22.2) */
  reportsProcessedCalls?: boolean;
}

export interface AmiTruth {
  queues: QueueTruth[];
  core: CoreTruth;
}

export interface SimAmi {
  host: string;
  port: number;
  users: AmiUser[];
  queues: QueueModel;
  core: AsteriskCore;
  /** every action received, in order, Secret shown as *** */
  actions: AmiActionRecord[];
  stats: AmiStats;
  sessions(): AmiSessionInfo[];
  /** `core reload`: new reload time; resetQueueStats (default true) also clears the queue statistics */
  reload(opts?: { resetQueueStats?: boolean }): void;
  /** an Asterisk restart: new start time, processed calls and queue statistics from zero, all sessions dropped */
  restart(): void;
  dropConnections(): number;
  setGreeting(greeting: AmiGreeting): void;
  addQueue(opts?: AddQueueOptions): SimQueue;
  removeQueue(id: string): boolean;
  addCaller(queue: string, opts?: AddCallerOptions): SimCaller;
  answer(queue: string, member?: string): boolean;
  complete(queue: string, member?: string): boolean;
  abandon(queue: string, position?: number): boolean;
  pauseMember(queue: string, member: string, paused: boolean, reason?: string): void;
  setMemberStatus(queue: string, member: string, state: DeviceStateName | number): void;
  fault(spec: AmiFaultSpec): void;
  clearFaults(): void;
  faults(): AmiFaultSpec[];
  truth(): AmiTruth;
  close(): Promise<void>;
}

export async function startAmi(opts: AmiSimOptions, host: string, clock: PbxClock, queues: QueueModel, currentCalls: () => number): Promise<SimAmi> {
  const core = new AsteriskCore(clock, () => currentCalls() + queues.activeCalls());
  core.reportsProcessedCalls = opts.reportsProcessedCalls ?? true;
  queues.onCallStarted = () => core.callStarted();
  const users = opts.users ?? [DEFAULT_AMI_USER];
  const server = new AmiServer({ clock, queues, core, users, greeting: opts.greeting ?? 'asterisk', failedLoginDelayMs: opts.failedLoginDelayMs ?? 0 });
  const port = await server.listen(opts.port ?? 0, host);
  return {
    host,
    port,
    users,
    queues,
    core,
    actions: server.actions,
    stats: server.stats,
    sessions: () => server.sessionsInfo(),
    reload(o = {}) {
      core.reload();
      if (o.resetQueueStats ?? true) queues.resetStats();
    },
    restart() {
      core.restart();
      queues.restart();
      server.dropAll();
    },
    dropConnections: () => server.dropAll(),
    setGreeting(g) {
      server.greeting = g;
    },
    addQueue: (o) => queues.addQueue(o),
    removeQueue: (id) => queues.removeQueue(id),
    addCaller: (q, o) => queues.addCaller(q, o),
    answer: (q, m) => queues.answer(q, m),
    complete: (q, m) => queues.complete(q, m),
    abandon: (q, p) => queues.abandon(q, p),
    pauseMember: (q, m, p, r) => queues.pauseMember(q, m, p, r),
    setMemberStatus: (q, m, s) => queues.setMemberStatus(q, m, s),
    fault: (spec) => server.addFault(spec),
    clearFaults: () => server.clearFaults(),
    faults: () => server.listFaults(),
    truth: () => ({ queues: queues.truth(), core: core.truth() }),
    close: () => server.close(),
  };
}
