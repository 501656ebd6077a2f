// The simulated Asterisk manager: a node:net server speaking AMI as main/manager.c and app_queue.c
// of Asterisk 22 do (greeting, Login with write-mask permissions, list responses), recording every
// action it receives. Faults make it hang, hang up, or send garbage or an endless frame.

import { createServer, type Server, type Socket } from 'node:net';
import type { PbxClock } from '../clock.js';
import type { AsteriskCore } from './core.js';
import { isAvailable, isLoggedIn, serviceLevelPerf2Text, serviceLevelPerfText, type QueueModel, type SimQueue } from './queues.js';
import { ACTION_AUTHORITY, mayRun, type AmiUser } from './users.js';

/** 'asterisk' = `Asterisk Call Manager/<ami version>`, 'pbx' = MikoPBX's planned `PBX Call Manager/…`, else a raw first line. */
export type AmiGreeting = 'asterisk' | 'pbx' | (string & {});

export const AMI_FAULT_KINDS = ['hang', 'drop', 'garbage', 'oversize', 'delay'] as const;
export type AmiFaultKind = (typeof AMI_FAULT_KINDS)[number];

export interface AmiFaultSpec {
  kind: AmiFaultKind;
  /** only this action (case-insensitive); default every action */
  action?: string;
  /** how many matching actions it takes (default: until cleared) */
  count?: number;
  /** for `delay` */
  delayMs?: number;
}

export interface AmiActionRecord {
  time: number;
  session: number;
  action: string;
  actionId: string;
  /** the logged-in user at the time ('' before login) */
  username: string;
  /** every header as sent, Secret shown as *** */
  fields: Record<string, string>;
}

export interface AmiSessionInfo {
  id: number;
  username: string;
  /** Login asked for events (no `Events: off`) */
  events: boolean;
  eventsSent: number;
}

export interface AmiStats {
  connections: number;
  logins: number;
  failedLogins: number;
  permissionDenied: number;
  unknownActions: number;
}

export interface AmiServerOptions {
  clock: PbxClock;
  queues: QueueModel;
  core: AsteriskCore;
  users: AmiUser[];
  greeting: AmiGreeting;
  /** Asterisk sleeps 1 s before answering a failed login */
  failedLoginDelayMs: number;
}

interface Session {
  id: number;
  socket: Socket;
  user: AmiUser | null;
  events: boolean;
  eventsSent: number;
  pending: string;
  /** a hung action blocks the session, as a stuck action blocks Asterisk's session thread */
  stuck: boolean;
}

const MAX_LOG = 100_000;
const MAX_REQUEST = 64 * 1024;

function frame(fields: readonly (readonly [string, string])[]): string {
  return `${fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

const idField = (id: string): [string, string][] => (id === '' ? [] : [['ActionID', id]]);

export class AmiServer {
  readonly actions: AmiActionRecord[] = [];
  readonly stats: AmiStats = { connections: 0, logins: 0, failedLogins: 0, permissionDenied: 0, unknownActions: 0 };
  greeting: AmiGreeting;
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faults: (AmiFaultSpec & { left: number })[] = [];
  private seq = 0;

  constructor(private readonly opts: AmiServerOptions) {
    this.greeting = opts.greeting;
    this.server = createServer((socket) => this.accept(socket));
    opts.queues.onEvent = (event, fields) => this.broadcast(event, fields, 'agent');
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropAll();
    await done;
  }

  /** Hangs up every session (as a restart or a network cut does); returns how many. */
  dropAll(): number {
    const n = this.sessions.size;
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
    return n;
  }

  sessionsInfo(): AmiSessionInfo[] {
    return [...this.sessions].map((s) => ({ id: s.id, username: s.user?.username ?? '', events: s.events, eventsSent: s.eventsSent }));
  }

  addFault(spec: AmiFaultSpec): void {
    if (!AMI_FAULT_KINDS.includes(spec.kind)) throw new Error(`fault kind must be one of ${AMI_FAULT_KINDS.join(', ')}`);
    this.faults.push({ ...spec, left: spec.count ?? Infinity });
  }

  clearFaults(): void {
    this.faults = [];
  }

  listFaults(): AmiFaultSpec[] {
    return this.faults.map(({ left: _left, ...f }) => f);
  }

  private accept(socket: Socket): void {
    const session: Session = { id: ++this.seq, socket, user: null, events: false, eventsSent: 0, pending: '', stuck: false };
    this.sessions.add(session);
    this.stats.connections++;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('close', () => this.sessions.delete(session));
    const g = this.greeting;
    socket.write(
      `${g === 'asterisk' ? `Asterisk Call Manager/${this.opts.core.amiVersion}` : g === 'pbx' ? `PBX Call Manager/${this.opts.core.amiVersion}` : g}\r\n`,
    );
    socket.on('data', (text: string) => {
      session.pending += text;
      for (;;) {
        const m = /\r?\n\r?\n/.exec(session.pending);
        if (!m) break;
        const block = session.pending.slice(0, m.index);
        session.pending = session.pending.slice(m.index + m[0].length);
        if (block.trim() !== '') this.request(session, block);
      }
      if (session.pending.length > MAX_REQUEST) socket.destroy();
    });
  }

  private request(s: Session, block: string): void {
    const fields: [string, string][] = [];
    for (const line of block.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i > 0) fields.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    }
    const get = (key: string): string => fields.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1] ?? '';
    const action = get('Action');
    const id = get('ActionID');
    this.actions.push({
      time: this.opts.clock.now(),
      session: s.id,
      action,
      actionId: id,
      username: s.user?.username ?? '',
      fields: Object.fromEntries(fields.map(([k, v]) => [k, k.toLowerCase() === 'secret' ? '***' : v])),
    });
    if (this.actions.length > MAX_LOG) this.actions.splice(0, this.actions.length - MAX_LOG);
    if (s.stuck) return;

    const fault = this.takeFault(action);
    if (fault) {
      switch (fault.kind) {
        case 'hang':
          s.stuck = true;
          return;
        case 'drop':
          s.socket.destroy();
          return;
        case 'garbage':
          s.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
          return;
        case 'oversize':
          s.socket.write(
            `Response: Success\r\n${idField(id)
              .map(([k, v]) => `${k}: ${v}\r\n`)
              .join('')}Output: ${'x'.repeat(1024 * 1024)}`,
          );
          return;
        case 'delay': {
          const t = setTimeout(() => {
            this.timers.delete(t);
            if (!s.socket.destroyed) this.answer(s, action, id, get);
          }, fault.delayMs ?? 1000);
          this.timers.add(t);
          return;
        }
      }
    }
    this.answer(s, action, id, get);
  }

  private takeFault(action: string): AmiFaultSpec | null {
    const f = this.faults.find((x) => x.left > 0 && (x.action === undefined || x.action.toLowerCase() === action.toLowerCase()));
    if (!f) return null;
    f.left--;
    if (f.left <= 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f;
  }

  private send(s: Session, text: string): void {
    if (!s.socket.destroyed) s.socket.write(text);
  }

  private error(s: Session, id: string, message: string): void {
    this.send(s, frame([['Response', 'Error'], ...idField(id), ['Message', message]]));
  }

  private answer(s: Session, action: string, id: string, get: (key: string) => string): void {
    const a = action.toLowerCase();
    if (a === '') {
      this.error(s, id, 'Missing action in request');
      return;
    }
    if (a === 'login') {
      this.login(s, id, get);
      return;
    }
    if (a === 'logoff') {
      this.send(s, frame([['Response', 'Goodbye'], ...idField(id), ['Message', 'Thanks for all the fish.']]));
      s.socket.end();
      return;
    }
    if (!s.user) {
      this.stats.permissionDenied++;
      this.error(s, id, 'Permission denied');
      return;
    }
    if (ACTION_AUTHORITY[a] === undefined) {
      this.stats.unknownActions++;
      this.error(s, id, `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`);
      return;
    }
    if (!mayRun(s.user, a)) {
      this.stats.permissionDenied++;
      this.error(s, id, 'Permission denied');
      return;
    }
    switch (a) {
      case 'ping': {
        const now = this.opts.clock.now();
        this.send(
          s,
          frame([
            ['Response', 'Success'],
            ...idField(id),
            ['Ping', 'Pong'],
            ['Timestamp', `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`],
          ]),
        );
        return;
      }
      case 'queuesummary':
        this.queueSummary(s, id, get('Queue'));
        return;
      case 'queuestatus':
        this.queueStatus(s, id, get('Queue'), get('Member'));
        return;
      case 'queuereset': {
        // What a real Asterisk does for any logged-in user: the reason the exporter must never send it.
        const queue = get('Queue');
        this.opts.queues.resetStats(queue === '' ? undefined : queue);
        this.send(s, frame([['Response', 'Success'], ...idField(id), ['Message', 'Queue stats reset successfully']]));
        return;
      }
      case 'corestatus':
        this.send(s, frame([['Response', 'Success'], ...idField(id), ...this.opts.core.statusFields()]));
        return;
      case 'coresettings':
        this.send(s, frame([['Response', 'Success'], ...idField(id), ...this.opts.core.settingsFields()]));
        return;
      default:
        this.error(s, id, `Simulator: ${action} is not simulated`);
    }
  }

  private login(s: Session, id: string, get: (key: string) => string): void {
    if (s.user) {
      this.send(s, frame([['Response', 'Success'], ...idField(id), ['Message', 'Already authenticated']]));
      return;
    }
    this.stats.logins++;
    const user = this.opts.users.find((u) => u.username.toLowerCase() === get('Username').toLowerCase());
    if (!user || user.secret !== get('Secret')) {
      this.stats.failedLogins++;
      const refuse = (): void => {
        this.error(s, id, 'Authentication failed');
        s.socket.end(); // action_login returns -1: Asterisk ends the session
      };
      if (this.opts.failedLoginDelayMs > 0) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          refuse();
        }, this.opts.failedLoginDelayMs);
        this.timers.add(t);
      } else refuse();
      return;
    }
    s.user = user;
    // No Events header: the user's read mask decides; "off": none at all.
    s.events = get('Events').toLowerCase() !== 'off';
    this.send(s, frame([['Response', 'Success'], ...idField(id), ['Message', 'Authentication accepted']]));
    if (s.events && (user.read ?? []).includes('system')) {
      const t = this.opts.core.truth();
      this.event(s, 'FullyBooted', [
        ['Privilege', 'system,all'],
        ['Uptime', String(Math.floor(this.opts.clock.now() / 1000) - t.startTimeSeconds)],
        ['LastReload', String(Math.floor(this.opts.clock.now() / 1000) - t.reloadTimeSeconds)],
        ['Status', 'Fully Booted'],
      ]);
    }
  }

  private event(s: Session, name: string, fields: [string, string][]): void {
    s.eventsSent++;
    this.send(s, frame([['Event', name], ...fields]));
  }

  private broadcast(name: string, fields: [string, string][], cls: 'agent' | 'system'): void {
    for (const s of this.sessions) if (s.user && s.events && (s.user.read ?? []).includes(cls)) this.event(s, name, [['Privilege', `${cls},all`], ...fields]);
  }

  private filtered(queue: string): SimQueue[] {
    return this.opts.queues.queues().filter((q) => queue === '' || q.id.toLowerCase() === queue.toLowerCase());
  }

  private queueSummary(s: Session, id: string, queue: string): void {
    const nowUnix = Math.floor(this.opts.clock.now() / 1000);
    let out = frame([['Response', 'Success'], ...idField(id), ['EventList', 'start'], ['Message', 'Queue summary will follow']]);
    const queues = this.filtered(queue);
    for (const q of queues) {
      const longest = q.callers.reduce((max, c) => Math.max(max, nowUnix - Math.floor(c.joinMs / 1000)), 0);
      out += frame([
        ['Event', 'QueueSummary'],
        ['Queue', q.id],
        ['LoggedIn', String(q.members.filter(isLoggedIn).length)],
        ['Available', String(q.members.filter(isAvailable).length)],
        ['Callers', String(q.callers.length)],
        ['HoldTime', String(q.holdtime)],
        ['TalkTime', String(q.talktime)],
        ['LongestHoldTime', String(longest)],
        ...idField(id),
      ]);
    }
    out += frame([['Event', 'QueueSummaryComplete'], ...idField(id), ['EventList', 'Complete'], ['ListItems', String(queues.length)]]);
    this.send(s, out);
  }

  private queueStatus(s: Session, id: string, queue: string, member: string): void {
    const nowUnix = Math.floor(this.opts.clock.now() / 1000);
    let out = frame([['Response', 'Success'], ...idField(id), ['EventList', 'start'], ['Message', 'Queue status will follow']]);
    let items = 0;
    for (const q of this.filtered(queue)) {
      out += frame([
        ['Event', 'QueueParams'],
        ['Queue', q.id],
        ['Max', String(q.max)],
        ['Strategy', q.strategy],
        ['Calls', String(q.callers.length)],
        ['Holdtime', String(q.holdtime)],
        ['TalkTime', String(q.talktime)],
        ['Completed', String(q.completed)],
        ['Abandoned', String(q.abandoned)],
        ['ServiceLevel', String(q.serviceLevel)],
        ['ServicelevelPerf', serviceLevelPerfText(q)],
        ['ServicelevelPerf2', serviceLevelPerf2Text(q)],
        ['Weight', String(q.weight)],
        ...idField(id),
      ]);
      items++;
      for (const m of q.members) {
        if (member !== '' && m.location !== member && m.name !== member) continue;
        out += frame([
          ['Event', 'QueueMember'],
          ['Queue', q.id],
          ['Name', m.name],
          ['Location', m.location],
          ['StateInterface', m.stateInterface],
          ['Membership', 'static'],
          ['Penalty', String(m.penalty)],
          ['CallsTaken', String(m.callsTaken)],
          ['LastCall', String(m.lastCall)],
          ['LastPause', String(m.lastPause)],
          ['LoginTime', String(m.loginTime)],
          ['InCall', m.inCall ? '1' : '0'],
          ['Status', String(m.status)],
          ['Paused', m.paused ? '1' : '0'],
          ['PausedReason', m.pausedReason],
          ['Wrapuptime', '0'],
          ...idField(id),
        ]);
        items++;
      }
      q.callers.forEach((c, i) => {
        out += frame([
          ['Event', 'QueueEntry'],
          ['Queue', q.id],
          ['Position', String(i + 1)],
          ['Channel', c.channel],
          ['Uniqueid', c.uniqueid],
          ['CallerIDNum', c.callerIdNum],
          ['CallerIDName', c.callerIdName],
          ['ConnectedLineNum', 'unknown'],
          ['ConnectedLineName', 'unknown'],
          ['Wait', String(nowUnix - Math.floor(c.joinMs / 1000))],
          ['Priority', String(c.priority)],
          ...idField(id),
        ]);
        items++;
      });
    }
    out += frame([['Event', 'QueueStatusComplete'], ...idField(id), ['EventList', 'Complete'], ['ListItems', String(items)]]);
    this.send(s, out);
  }
}
