import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleepMs } from 'node:timers/promises';
import got, { type Got, type Method, type OptionsOfTextResponseBody, RequestError } from 'got';
import { Backoff } from './backoff.js';
import { RequestBudget } from './budget.js';
import { PbxApiError } from './errors.js';

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  ca?: string | undefined;
  insecureSkipVerify?: boolean;
  maxRequestsPerMinute: number;
  /** Responses above this size are abandoned (a PBX answer is a few MB at most, even for 5,000 phones). */
  maxBodyBytes?: number;
  /** Called once per request actually sent, with the HTTP status or 'error'. */
  onRequest?: (endpoint: string, code: string) => void;
  /** Called with values the PBX hands out that must never be logged (session cookies). */
  onSecret?: (secret: string) => void;
  now?: () => number;
  /** Waits for the request budget; tests with an injected clock pass one that advances it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A limit of requests in flight shared with other PBXs (fleet mode). */
  gate?: RequestGateLike;
}

/** A slot for one request among several PBXs; `suspect`: this PBX's last request timed out. */
export interface RequestGateLike {
  acquire(suspect: boolean, endpoint: string, signal: AbortSignal): Promise<() => void>;
}

export interface RequestSpec {
  method?: Method;
  /** Path below the base URL, starting with '/'. Never includes the query. */
  path: string;
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string>;
  form?: Record<string, string>;
}

export interface RawResponse {
  endpoint: string;
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 1 };
/** got with the options every PBX request has; TLS options and the agent are each transport's own. */
const PBX_CLIENT = got.extend({
  headers: { accept: 'application/json', 'user-agent': 'mikopbx-exporter' },
  retry: { limit: 0 },
  throwHttpErrors: false,
  followRedirect: false,
  responseType: 'text',
});
/** A Retry-After longer than this is not believed (nginx caps its ban at 1 h). */
const MAX_RETRY_AFTER_MS = 2 * 3600_000;
const TLS_CODES = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * The only place that talks HTTP to a PBX. Requests go strictly one at a time (MikoPBX has 3 API
 * workers shared with the web UI), within the per-minute budget, and not at all during a back-off.
 */
export class Transport {
  readonly budget: RequestBudget;
  readonly backoff: Backoff;
  readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly agent: { http: http.Agent } | { https: https.Agent };
  /** got with the fixed options merged once (got merges and checks every option it is given, per request). */
  private readonly client: Got;
  private readonly deadline = new AsyncLocalStorage<number>();
  private readonly closed = new AbortController();
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly ca: string[] | undefined;
  /** Whether the last request timed out: such a PBX gets a smaller share of a fleet's slots. */
  private lastTimedOut = false;

  constructor(private readonly opts: TransportOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms, signal) => sleepMs(ms, undefined, { signal }));
    this.budget = new RequestBudget(opts.maxRequestsPerMinute, this.now);
    this.backoff = new Backoff(this.now);
    this.ca = opts.ca ? trustedCas(opts.ca) : undefined;
    // One keep-alive socket to this PBX (requests go one at a time), for its URL's scheme only.
    this.agent = new URL(opts.baseUrl).protocol === 'https:' ? { https: new https.Agent(AGENT_OPTIONS) } : { http: new http.Agent(AGENT_OPTIONS) };
    // A fleet's targets share got's merged defaults; only custom TLS needs an instance of its own.
    this.client =
      this.ca || opts.insecureSkipVerify
        ? PBX_CLIENT.extend({ https: { rejectUnauthorized: !opts.insecureSkipVerify, ...(this.ca ? { certificateAuthority: this.ca } : {}) } })
        : PBX_CLIENT;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /**
   * Runs fn with a deadline (Unix ms) for every request it sends: budget waits and request
   * timeouts are cut to fit, and nothing is sent after it. This is what keeps a poll from
   * running into the next one, however many requests it makes.
   */
  /** The deadline of the poll this call runs in (Infinity outside one): it identifies the poll. */
  pollDeadline(): number {
    return this.deadline.getStore() ?? Infinity;
  }

  withDeadline<T>(deadlineMs: number, fn: () => Promise<T>): Promise<T> {
    return this.deadline.run(deadlineMs, fn);
  }

  /** Sends one request after every earlier one has finished. */
  send(spec: RequestSpec, maxBudgetWaitMs = this.opts.timeoutMs): Promise<RawResponse> {
    const deadline = this.pollDeadline();
    const run = this.queue.then(() => this.sendNow(spec, maxBudgetWaitMs, deadline));
    // The queue resolves to nothing: it would otherwise keep the last answer's body until the next request.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Hands a value this PBX gave out (a session cookie) to the secret keeper, so it is never logged. */
  keepSecret(secret: string): void {
    this.opts.onSecret?.(secret);
  }

  /** Aborts the request in flight and refuses new ones (shutdown). */
  close(): void {
    this.closed.abort();
    for (const agent of Object.values(this.agent) as http.Agent[]) agent.destroy();
  }

  get isClosed(): boolean {
    return this.closed.signal.aborted;
  }

  private async sendNow(spec: RequestSpec, maxBudgetWaitMs: number, deadline: number, waited = false): Promise<RawResponse> {
    const endpoint = spec.path;
    if (this.isClosed) throw new PbxApiError('shutdown', endpoint, 'not sent: the exporter is shutting down');
    const paused = this.backoff.active();
    if (paused) {
      const secs = Math.ceil((paused.until - this.now()) / 1000);
      throw new PbxApiError('backoff', endpoint, `not sent: backing off (${paused.reason.replace('_', ' ')}) for another ${secs} s`);
    }
    const wait = this.budget.waitMs();
    if (wait > 0) {
      if (waited || wait > maxBudgetWaitMs || this.now() + wait >= deadline) {
        throw new PbxApiError('budget', endpoint, `not sent: request budget of ${this.budget.perMinute}/min is spent (MIKOPBX_MAX_REQUESTS_PER_MINUTE)`);
      }
      try {
        await this.sleep(wait, this.closed.signal);
      } catch {
        throw new PbxApiError('shutdown', endpoint, 'not sent: the exporter is shutting down');
      }
      // A ban may have been tripped, or shutdown begun, while waiting: check everything again.
      return this.sendNow(spec, maxBudgetWaitMs, deadline, true);
    }
    const left = deadline - this.now();
    if (left < 50) throw new PbxApiError('deadline', endpoint, 'not sent: the poll ran out of time (slow PBX answers earlier in this poll)');
    const release = this.opts.gate ? await this.slot(endpoint, deadline) : null;
    let res: RawResponse;
    try {
      // The wait for a slot may have used the poll's time, or shutdown begun: check again.
      if (this.isClosed) throw new PbxApiError('shutdown', endpoint, 'not sent: the exporter is shutting down');
      const remaining = deadline - this.now();
      if (remaining < 50)
        throw new PbxApiError('in_flight', endpoint, 'not sent: the poll ran out of time waiting for a free request slot (MAX_REQUESTS_IN_FLIGHT)');
      this.budget.record();
      res = await this.fetch(spec, endpoint, Math.min(this.opts.timeoutMs, remaining));
    } finally {
      release?.();
    }
    this.opts.onRequest?.(endpoint, String(res.status));
    this.noteSecrets(res);
    if (res.status === 429) {
      const pause = this.backoff.trip('rate_limited', retryAfterMs(res, this.now()));
      throw new PbxApiError(
        'rate-limited',
        endpoint,
        `HTTP 429: the PBX rate limiter banned this IP; sending nothing for ${Math.round(pause / 1000)} s (lower the poll rate or MIKOPBX_MAX_REQUESTS_PER_MINUTE)`,
        429,
      );
    }
    if (res.status === 503 || (res.status === 400 && /worker not responding|Request timeout/i.test(res.body))) {
      const pause = this.backoff.trip('overloaded', retryAfterMs(res, this.now()));
      const what = res.status === 503 ? 'the PBX API queue is full (HTTP 503)' : 'no PBX API worker answered within 30 s (HTTP 400 "worker not responding")';
      throw new PbxApiError('overloaded', endpoint, `${what}; backing off for ${Math.round(pause / 1000)} s`, res.status);
    }
    // Only the overload memory is cleared by a good answer: nginx remembers rate-limit offences
    // for 24 h and doubles the next ban, so our pause must keep doubling too.
    this.backoff.reset('overloaded');
    return res;
  }

  /** A fleet slot, waited for until the poll's deadline or shutdown. */
  private async slot(endpoint: string, deadline: number): Promise<() => void> {
    const gate = this.opts.gate as RequestGateLike;
    const stop = new AbortController();
    const onClose = () => stop.abort();
    this.closed.signal.addEventListener('abort', onClose, { once: true });
    const timer = Number.isFinite(deadline) ? setTimeout(() => stop.abort(), Math.max(0, deadline - this.now() - 50)) : null;
    try {
      return await gate.acquire(this.lastTimedOut, endpoint, stop.signal);
    } catch (e) {
      if (this.isClosed) throw new PbxApiError('shutdown', endpoint, 'not sent: the exporter is shutting down');
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      this.closed.signal.removeEventListener('abort', onClose);
    }
  }

  private noteSecrets(res: RawResponse): void {
    const cookies = res.headers['set-cookie'];
    if (!cookies || !this.opts.onSecret) return;
    for (const c of cookies) {
      const value = /^[^=;]+=([^;]*)/.exec(c)?.[1];
      // Session ids and tokens are long; short values ("deleted") are no secret.
      if (value && value.length >= 16) this.opts.onSecret(value);
    }
  }

  private async fetch(spec: RequestSpec, endpoint: string, timeoutMs: number): Promise<RawResponse> {
    const maxBody = this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const options: OptionsOfTextResponseBody = {
      method: spec.method ?? 'GET',
      // `request` bounds the whole exchange, body included, so a slow drip cannot hold a poll.
      timeout: { request: timeoutMs },
      responseType: 'text',
      agent: this.agent,
    };
    if (spec.headers) options.headers = spec.headers;
    if (spec.query) options.searchParams = spec.query;
    if (spec.form) options.form = spec.form;

    let tooLarge = false;
    const abort = new AbortController();
    options.signal = abort.signal;
    // Shutdown aborts the request in flight (a listener, not AbortSignal.any, which would tie
    // every request's signal to the transport's lifetime).
    const onClose = () => abort.abort();
    this.closed.signal.addEventListener('abort', onClose, { once: true });
    const request = this.client(this.opts.baseUrl + spec.path, options);
    request.on('downloadProgress', (p: { transferred: number; total?: number }) => {
      if (!tooLarge && (p.transferred > maxBody || (p.total !== undefined && p.total > maxBody))) {
        tooLarge = true;
        abort.abort();
      }
    });
    try {
      const res = await request;
      this.lastTimedOut = false;
      return { endpoint, status: res.statusCode, body: res.body, headers: res.headers };
    } catch (e) {
      this.lastTimedOut = e instanceof RequestError && e.name === 'TimeoutError';
      this.opts.onRequest?.(endpoint, 'error');
      if (tooLarge) {
        throw new PbxApiError(
          'too-large',
          endpoint,
          `answer larger than ${Math.round(maxBody / 1048576)} MiB; abandoned (not a MikoPBX API answer, or MIKOPBX_URL points elsewhere)`,
        );
      }
      if (this.isClosed) throw new PbxApiError('shutdown', endpoint, 'aborted: the exporter is shutting down');
      throw classifyRequestError(e, endpoint, timeoutMs);
    } finally {
      this.closed.signal.removeEventListener('abort', onClose);
    }
  }
}

/** Retry-After (seconds or HTTP date) of a 429/503, if the server sent a believable one. */
function retryAfterMs(res: RawResponse, now: number): number | undefined {
  const h = res.headers['retry-after'];
  if (typeof h !== 'string' || h.trim() === '') return undefined;
  const secs = Number(h);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(h) - now;
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

function classifyRequestError(e: unknown, endpoint: string, timeoutMs: number): PbxApiError {
  const code = e instanceof RequestError ? (e.code ?? '') : ((e as NodeJS.ErrnoException)?.code ?? '');
  const msg = (e as Error)?.message ?? String(e);
  if (e instanceof RequestError && e.name === 'TimeoutError') {
    return new PbxApiError(
      'timeout',
      endpoint,
      `no complete answer within ${Math.round(timeoutMs) / 1000} s (MIKOPBX_TIMEOUT_SECONDS, or what was left of the poll interval)`,
    );
  }
  if (TLS_CODES.test(code) || /certificate|SSL|TLS/i.test(msg)) {
    return new PbxApiError(
      'tls',
      endpoint,
      `TLS failure (${code || msg}); for a self-signed PBX certificate set MIKOPBX_CA_FILE to its CA (PEM), or MIKOPBX_TLS_INSECURE_SKIP_VERIFY=true as a last resort`,
    );
  }
  if (NETWORK_CODES.has(code)) {
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset',
      ENOTFOUND: 'host name not found (DNS)',
      EAI_AGAIN: 'DNS lookup failed',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
    };
    return new PbxApiError('network', endpoint, `${what[code] ?? code} (check MIKOPBX_URL and that the PBX is up)`, undefined, code);
  }
  return new PbxApiError('network', endpoint, `request failed: ${code || msg}`, undefined, code || undefined);
}

/**
 * MIKOPBX_CA_FILE is an extra CA bundle: TLS's `ca` option replaces the CAs Node trusts by default
 * (bundled roots, NODE_EXTRA_CA_CERTS, the system store where enabled), so those come along.
 */
function trustedCas(extra: string): string[] {
  const defaults = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates?.('default') ?? tls.rootCertificates;
  return [...defaults, extra];
}
