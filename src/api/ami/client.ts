import type { Logger } from 'pino';
import { Backoff } from '../backoff.js';
import { allowedAction, type AllowedAction } from './actions.js';
import { AmiConnection, type AmiReply, type AmiTlsOptions } from './connection.js';
import { parseCoreSettings, parseCoreStatus } from './core-parse.js';
import { AmiError, AmiShapeError } from './errors.js';
import type { Greeting } from './frame.js';
import { parseQueueStatus, parseQueueSummary } from './queue-parse.js';
import type { CoreSettings, CoreStatus, QueueStatus, QueueSummaryEntry } from './types.js';

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  tls?: AmiTlsOptions | undefined;
  /** Per action, from the write to the last frame of its answer (default 10 s). */
  actionTimeoutMs?: number;
  /** TCP connect plus greeting (default 10 s). */
  connectTimeoutMs?: number;
  /** A Ping after this long without an action keeps NATs and firewalls from dropping the idle connection (default 30 s; 0 = off). */
  keepAliveMs?: number;
  /** Waits before reconnecting after a dropped connection: first, doubling up to max (default 1 s … 60 s). */
  reconnect?: { firstMs: number; maxMs: number };
  maxFrameBytes?: number;
  maxListItems?: number;
  log?: Logger | undefined;
  now?: () => number;
}

export type AmiState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'auth_failed' | 'closed';

export interface AmiStatus {
  state: AmiState;
  /** Unix ms the current pause ends (backoff, auth_failed); null otherwise. */
  until: number | null;
  /** Why the client is not connected (scrubbed); null while connected. */
  lastError: string | null;
  /** The greeting of the last connection. */
  greeting: Greeting | null;
  /** Logins sent since the client was made (fail2ban counts the failed ones). */
  logins: number;
}

/** What the queues collector needs from AMI. */
export interface QueueSource {
  queueSummary(): Promise<QueueSummaryEntry[]>;
  queueStatus(): Promise<QueueStatus>;
}

/** What the asterisk collector needs from AMI. */
export interface CoreSource {
  coreStatus(): Promise<CoreStatus>;
  coreSettings(): Promise<CoreSettings>;
}

/**
 * The one long-lived AMI session of a PBX: logs in with `Events: off` (request/response only),
 * sends strictly one action at a time, pings when idle, reconnects after a drop with doubling
 * pauses, and after a refused login sends nothing for a long pause: fail2ban's asterisk_ami jail
 * bans the IP after a few failed logins (MikoPBX: §2.1), so retrying would lock the exporter out.
 * The secret is in no message or log line (every message is scrubbed of it).
 */
export class AmiClient implements QueueSource, CoreSource {
  private readonly now: () => number;
  private readonly actionTimeoutMs: number;
  private readonly reconnectPolicy: { firstMs: number; maxMs: number };
  private readonly authBackoff: Backoff;
  private conn: AmiConnection | null = null;
  private connecting: Promise<AmiConnection> | null = null;
  private current: AmiState = 'idle';
  private until: number | null = null;
  private lastError: string | null = null;
  private greeting: Greeting | null = null;
  private reconnectDelayMs: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = false;
  private logins = 0;

  constructor(private readonly opts: AmiClientOptions) {
    this.now = opts.now ?? Date.now;
    this.actionTimeoutMs = opts.actionTimeoutMs ?? 10_000;
    this.reconnectPolicy = opts.reconnect ?? { firstMs: 1000, maxMs: 60_000 };
    this.reconnectDelayMs = this.reconnectPolicy.firstMs;
    // login_refused: 30 min, doubling to 4 h, the pause legacy-auth.ts keeps for the web login.
    this.authBackoff = new Backoff(this.now);
  }

  /** Connects now instead of at the first action. */
  start(): void {
    if (this.current === 'idle') this.connect().catch(() => undefined);
  }

  state(): AmiState {
    return this.current;
  }

  status(): AmiStatus {
    return { state: this.current, until: this.until, lastError: this.lastError, greeting: this.greeting, logins: this.logins };
  }

  async queueSummary(): Promise<QueueSummaryEntry[]> {
    return this.parsed('QueueSummary', parseQueueSummary);
  }

  async queueStatus(): Promise<QueueStatus> {
    return this.parsed('QueueStatus', parseQueueStatus);
  }

  async coreStatus(): Promise<CoreStatus> {
    return this.parsed('CoreStatus', parseCoreStatus);
  }

  async coreSettings(): Promise<CoreSettings> {
    return this.parsed('CoreSettings', parseCoreSettings);
  }

  async ping(): Promise<void> {
    await this.request('Ping');
  }

  /**
   * Sends one allowed action after every earlier one has finished. Login and Logoff belong to
   * the client; anything off the allowlist is refused before a byte is written.
   */
  request(action: AllowedAction, fields: Readonly<Record<string, string>> = {}): Promise<AmiReply> {
    try {
      allowedAction(action);
      if (action === 'Login' || action === 'Logoff') throw new AmiError('not-allowed', action, `${action} is sent by the AMI client itself`);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const run = this.chain.then(() => this.runNow(action, Object.entries(fields)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Logs off (when no action is in flight) and ends the connection; nothing is sent afterwards. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.until = null;
    this.clearTimers();
    const conn = this.conn;
    this.conn = null;
    if (!conn || conn.closed) return;
    if (!this.busy) {
      try {
        await conn.exchange('Logoff', [], Math.min(this.actionTimeoutMs, 2000));
      } catch {
        // Asterisk answers Goodbye and hangs up; whatever happened, the connection ends here.
      }
    }
    conn.end();
  }

  private async parsed<T>(action: AllowedAction, parse: (reply: AmiReply) => T): Promise<T> {
    const reply = await this.request(action);
    try {
      return parse(reply);
    } catch (e) {
      if (e instanceof AmiShapeError) throw new AmiError('shape', action, this.scrub(`unexpected answer to ${action}: ${e.message}`));
      throw e;
    }
  }

  private async runNow(action: AllowedAction, fields: [string, string][]): Promise<AmiReply> {
    const conn = await this.ready(action);
    this.busy = true;
    this.stopKeepAlive();
    try {
      const reply = await conn.exchange(action, fields, this.actionTimeoutMs);
      this.reconnectDelayMs = this.reconnectPolicy.firstMs; // this connection works: the next drop starts the pauses afresh
      return reply;
    } catch (e) {
      throw this.clean(e);
    } finally {
      this.busy = false;
      if (this.conn === conn && !conn.closed) this.armKeepAlive();
    }
  }

  /** The live connection, connecting first where allowed; an AmiError while paused or closed. */
  private ready(action: string): Promise<AmiConnection> {
    if (this.current === 'closed') return Promise.reject(new AmiError('closed', action, `${action} not sent: the AMI client is closed`));
    if (this.conn && !this.conn.closed) return Promise.resolve(this.conn);
    const left = this.until === null ? 0 : this.until - this.now();
    if (this.current === 'auth_failed' && left > 0) {
      return Promise.reject(
        new AmiError(
          'backoff',
          action,
          `${action} not sent: the PBX refused the AMI login; not logging in again for another ${Math.ceil(left / 60_000)} min (${this.lastError ?? ''})`,
        ),
      );
    }
    if (this.current === 'backoff' && left > 0) {
      return Promise.reject(
        new AmiError('backoff', action, `${action} not sent: reconnecting to AMI in ${Math.ceil(left / 1000)} s (${this.lastError ?? 'connection lost'})`),
      );
    }
    return this.connect();
  }

  private connect(): Promise<AmiConnection> {
    this.connecting ??= this.doConnect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<AmiConnection> {
    this.clearReconnect();
    this.current = 'connecting';
    this.until = null;
    const { host, port } = this.opts;
    let conn: AmiConnection;
    try {
      conn = await AmiConnection.open({
        host,
        port,
        tls: this.opts.tls,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 10_000,
        ...(this.opts.maxFrameBytes ? { maxFrameBytes: this.opts.maxFrameBytes } : {}),
        ...(this.opts.maxListItems ? { maxListItems: this.opts.maxListItems } : {}),
      });
    } catch (e) {
      const err = this.clean(e);
      this.dropped(err);
      throw err;
    }
    this.greeting = conn.greeting;
    try {
      if (this.isClosed()) throw new AmiError('closed', 'Login', 'not logging in: the AMI client was closed');
      this.logins++;
      await conn.exchange(
        'Login',
        [
          ['Username', this.opts.username],
          ['Secret', this.opts.secret],
          // Request/response only: no event stream to read and throw away.
          ['Events', 'off'],
        ],
        this.actionTimeoutMs,
      );
    } catch (e) {
      conn.end();
      const err = this.clean(e);
      if (err.kind === 'auth') this.refused(err);
      else this.dropped(err);
      throw err;
    }
    if (this.isClosed()) {
      conn.end();
      throw new AmiError('closed', '', 'the AMI client was closed while logging in');
    }
    this.conn = conn;
    this.current = 'connected';
    this.until = null;
    this.lastError = null;
    this.authBackoff.reset('login_refused');
    conn.onClose((e) => {
      if (this.conn !== conn) return;
      this.conn = null;
      this.dropped(this.clean(e));
    });
    this.armKeepAlive();
    this.opts.log?.info(
      { ami: `${host}:${port}`, greeting: `${conn.greeting.product} Call Manager/${conn.greeting.version}` },
      `AMI: logged in to ${host}:${port} as ${this.opts.username}`,
    );
    return conn;
  }

  private isClosed(): boolean {
    return this.current === 'closed';
  }

  /** A lost or failed connection: wait, doubling, then reconnect (eagerly: the next poll finds it up). */
  private dropped(e: AmiError): void {
    if (this.isClosed()) return;
    this.stopKeepAlive();
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delay * 2, this.reconnectPolicy.maxMs);
    const wasConnected = this.current === 'connected';
    this.current = 'backoff';
    this.until = this.now() + delay;
    this.lastError = e.message;
    const text = `AMI: ${e.message}; reconnecting in ${delay / 1000} s`;
    if (wasConnected) this.opts.log?.warn({ ami: `${this.opts.host}:${this.opts.port}`, kind: e.kind }, text);
    else this.opts.log?.debug({ ami: `${this.opts.host}:${this.opts.port}`, kind: e.kind }, text);
    this.clearReconnect();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.current === 'backoff') this.connect().catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }

  /** A refused login: nothing more until the long pause is over, then one new try on demand. */
  private refused(e: AmiError): void {
    this.stopKeepAlive();
    this.clearReconnect();
    const pause = this.authBackoff.trip('login_refused');
    this.current = 'auth_failed';
    this.until = this.now() + pause;
    this.lastError = e.message;
    this.opts.log?.error(
      { ami: `${this.opts.host}:${this.opts.port}`, reason: 'login_refused', pauseSeconds: Math.round(pause / 1000) },
      `AMI: ${e.message}: wrong MIKOPBX_AMI_USER or MIKOPBX_AMI_PASSWORD, or the AMI user's network filter does not permit this exporter's address; not logging in again for ${Math.round(pause / 60_000)} min (fail2ban's asterisk_ami jail bans an IP after repeated failed logins)`,
    );
  }

  private armKeepAlive(): void {
    this.stopKeepAlive();
    const every = this.opts.keepAliveMs ?? 30_000;
    if (every <= 0) return;
    this.keepAliveTimer = setTimeout(() => {
      this.keepAliveTimer = null;
      // Through the queue like any action; a ping that times out drops the connection.
      this.request('Ping').catch(() => undefined);
    }, every);
    this.keepAliveTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private clearTimers(): void {
    this.stopKeepAlive();
    this.clearReconnect();
  }

  private clean(e: unknown): AmiError {
    if (e instanceof AmiError) return new AmiError(e.kind, e.action, this.scrub(e.message));
    return new AmiError('network', '', this.scrub(e instanceof Error ? e.message : String(e)));
  }

  private scrub(text: string): string {
    const s = this.opts.secret;
    return s.length >= 3 ? text.split(s).join('***') : text;
  }
}
