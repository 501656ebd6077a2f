import net from 'node:net';
import tls from 'node:tls';
import { actionSpec, allowedAction } from './actions.js';
import { AmiError } from './errors.js';
import { AmiFrame, encodeFrame, FrameParser, quoteForError, type Greeting } from './frame.js';

export interface AmiTlsOptions {
  /** Extra CA (PEM) for a self-signed PBX certificate. */
  ca?: string | undefined;
  insecureSkipVerify?: boolean;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  /** TLS (Asterisk's `tlsenable`); plain TCP when absent. */
  tls?: AmiTlsOptions | undefined;
  /** TCP (and TLS) connect plus greeting. */
  connectTimeoutMs: number;
  maxFrameBytes?: number;
  /** Events of one list (QueueStatus on a large PBX: a few thousand members). */
  maxListItems?: number;
}

/** A response and, for list actions, the events of its list (without the closing `…Complete`). */
export interface AmiReply {
  response: AmiFrame;
  events: AmiFrame[];
}

interface Pending {
  id: string;
  action: string;
  listComplete: string | null;
  response: AmiFrame | null;
  events: AmiFrame[];
  resolve: (reply: AmiReply) => void;
  reject: (e: AmiError) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_MAX_LIST_ITEMS = 200_000;
const NETWORK_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is AMI enabled on the PBX, and the port right?)',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  EPIPE: 'connection closed while writing',
};

let connectionSeq = 0;

/**
 * One TCP (or TLS) connection to an Asterisk manager: greeting, then strictly one action at a
 * time, each with its own ActionID and timeout. Frames that belong to no action in flight
 * (events, late answers) are ignored. Any failure of the connection itself ends it: a timed-out
 * action leaves the session in an unknown state, so it is not reused.
 */
export class AmiConnection {
  readonly greeting: Greeting;
  private pending: Pending | null = null;
  private seq = 0;
  private failure: AmiError | null = null;
  private readonly closeListeners: ((e: AmiError) => void)[] = [];
  private readonly idPrefix = `mikopbx-exporter-${process.pid}-${++connectionSeq}`;

  private constructor(
    private readonly socket: net.Socket,
    greeting: Greeting,
    private readonly maxListItems: number,
  ) {
    this.greeting = greeting;
  }

  /** Connects and waits for the greeting. */
  static open(opts: ConnectionOptions): Promise<AmiConnection> {
    return new Promise((resolve, reject) => {
      let conn: AmiConnection | null = null;
      let settled = false;
      const socket = opts.tls
        ? tls.connect({
            host: opts.host,
            port: opts.port,
            rejectUnauthorized: !opts.tls.insecureSkipVerify,
            ...(opts.tls.ca ? { ca: [...tls.rootCertificates, opts.tls.ca] } : {}),
            ...(net.isIP(opts.host) ? {} : { servername: opts.host }),
          })
        : net.connect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const fail = (e: AmiError): void => {
        if (conn) {
          conn.fail(e);
          return;
        }
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () =>
          fail(
            new AmiError(
              'timeout',
              '',
              `no AMI greeting from ${opts.host}:${opts.port} within ${opts.connectTimeoutMs / 1000} s (a firewall dropping packets, or not an AMI port)`,
            ),
          ),
        opts.connectTimeoutMs,
      );
      const parser = new FrameParser(
        (greeting) => {
          settled = true;
          clearTimeout(timer);
          conn = new AmiConnection(socket, greeting, opts.maxListItems ?? DEFAULT_MAX_LIST_ITEMS);
          resolve(conn);
        },
        (frame) => conn?.dispatch(frame),
        opts.maxFrameBytes,
      );
      socket.on('data', (chunk: Buffer) => {
        try {
          parser.push(chunk);
        } catch (e) {
          fail(e instanceof AmiError ? e : new AmiError('protocol', '', String(e)));
        }
      });
      socket.on('error', (e: NodeJS.ErrnoException) => fail(socketError(e, opts.host, opts.port)));
      socket.on('close', () => fail(new AmiError('network', '', `the PBX closed the AMI connection (${opts.host}:${opts.port})`)));
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Called once when the connection ends for any reason (also after end()). */
  onClose(listener: (e: AmiError) => void): void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /**
   * Sends one action and resolves with its reply. The allowlist is checked before anything is
   * written; a `Response: Error` rejects with `auth`, `permission` or `error-response`.
   */
  exchange(action: string, fields: ReadonlyArray<readonly [string, string]>, timeoutMs: number): Promise<AmiReply> {
    const allowed = allowedAction(action);
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending)
      return Promise.reject(
        new AmiError('protocol', action, `${action} sent while ${this.pending.action} is still waiting for its answer (one action at a time)`),
      );
    const id = `${this.idPrefix}-${++this.seq}`;
    const bytes = encodeFrame([['Action', allowed], ['ActionID', id], ...fields]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new AmiError('timeout', action, `no complete answer to ${action} within ${timeoutMs / 1000} s; the AMI connection is dropped`));
      }, timeoutMs);
      this.pending = { id, action, listComplete: actionSpec(allowed).listComplete, response: null, events: [], resolve, reject, timer };
      this.socket.write(bytes);
    });
  }

  /** Ends the connection quietly (after a Logoff, or when closing). */
  end(): void {
    this.fail(new AmiError('closed', '', 'the AMI connection was closed by the exporter'));
  }

  private dispatch(frame: AmiFrame): void {
    const p = this.pending;
    if (!p || frame.get('ActionID') !== p.id) return; // an event, or the late answer to an action given up on
    if (!p.response) {
      const response = frame.get('Response');
      if (response === undefined) {
        this.fail(new AmiError('protocol', p.action, `an event (${quoteForError(frame.get('Event') ?? '')}) arrived before the response to ${p.action}`));
        return;
      }
      if (response.toLowerCase() === 'error') {
        this.finish(p, null, errorResponse(p.action, frame.get('Message') ?? ''));
        return;
      }
      p.response = frame;
      if (p.listComplete === null || frame.get('EventList')?.toLowerCase() !== 'start') this.finish(p, { response: frame, events: [] });
      return;
    }
    if (frame.get('Event')?.toLowerCase() === p.listComplete?.toLowerCase() || frame.get('EventList')?.toLowerCase() === 'complete') {
      this.finish(p, { response: p.response, events: p.events });
      return;
    }
    p.events.push(frame);
    if (p.events.length > this.maxListItems) {
      this.fail(new AmiError('protocol', p.action, `more than ${this.maxListItems} events in the answer to ${p.action}; given up`));
    }
  }

  private finish(p: Pending, reply: AmiReply | null, error?: AmiError): void {
    clearTimeout(p.timer);
    this.pending = null;
    if (error) p.reject(error);
    else p.resolve(reply as AmiReply);
  }

  private fail(e: AmiError): void {
    if (this.failure) return;
    this.failure = e;
    this.socket.destroy();
    const p = this.pending;
    if (p) this.finish(p, null, e.action === '' ? new AmiError(e.kind, p.action, `${p.action}: ${e.message}`) : e);
    for (const l of this.closeListeners.splice(0)) l(e);
  }
}

function errorResponse(action: string, message: string): AmiError {
  const said = quoteForError(message, 160);
  if (/^Authentication failed/i.test(message)) return new AmiError('auth', action, `the PBX refused the AMI login (${said})`);
  if (/^Permission denied/i.test(message)) {
    return new AmiError(
      'permission',
      action,
      `the AMI user may not run ${action} (Asterisk said ${said}); it needs ${actionSpec(allowedAction(action)).needs} in its write mask (MikoPBX: System → AMI access)`,
    );
  }
  return new AmiError('error-response', action, `Asterisk refused ${action}: ${said}`);
}

function socketError(e: NodeJS.ErrnoException, host: string, port: number): AmiError {
  const code = e.code ?? '';
  const where = `${host}:${port}`;
  if (/CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || /certificate|SSL|TLS/i.test(e.message)) {
    return new AmiError('tls', '', `TLS failure on the AMI connection to ${where} (${code || e.message})`);
  }
  return new AmiError('network', '', `AMI connection to ${where}: ${NETWORK_WORDS[code] ?? (code || e.message)}`);
}
