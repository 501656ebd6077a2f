import http from 'node:http';
import https from 'node:https';
import got, { type Method, type OptionsOfTextResponseBody, RequestError } from 'got';
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
  now?: () => number;
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
const TLS_CODES = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * The only place that talks HTTP to a PBX. Requests go strictly one at a time (MikoPBX has 3 API
 * workers shared with the web UI), within the per-minute budget, and not at all during a back-off.
 */
export class Transport {
  readonly budget: RequestBudget;
  readonly backoff: Backoff;
  readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly agent: { http: http.Agent; https: https.Agent };

  constructor(private readonly opts: TransportOptions) {
    this.now = opts.now ?? Date.now;
    this.budget = new RequestBudget(opts.maxRequestsPerMinute, this.now);
    this.backoff = new Backoff(this.now);
    this.agent = {
      http: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 1 }),
    };
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** Sends one request after every earlier one has finished. */
  send(spec: RequestSpec, maxBudgetWaitMs = this.opts.timeoutMs): Promise<RawResponse> {
    const run = this.queue.then(() => this.sendNow(spec, maxBudgetWaitMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.agent.http.destroy();
    this.agent.https.destroy();
  }

  private async sendNow(spec: RequestSpec, maxBudgetWaitMs: number): Promise<RawResponse> {
    const endpoint = spec.path;
    const paused = this.backoff.active();
    if (paused) {
      const secs = Math.ceil((paused.until - this.now()) / 1000);
      throw new PbxApiError('backoff', endpoint, `not sent: backing off (${paused.reason.replace('_', ' ')}) for another ${secs} s`);
    }
    const wait = this.budget.waitMs();
    if (wait > 0) {
      if (wait > maxBudgetWaitMs) {
        throw new PbxApiError('budget', endpoint, `not sent: request budget of ${this.budget.perMinute}/min is spent (MIKOPBX_MAX_REQUESTS_PER_MINUTE)`);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
    this.budget.record();

    const res = await this.fetch(spec, endpoint);
    this.opts.onRequest?.(endpoint, String(res.status));
    if (res.status === 429) {
      const pause = this.backoff.trip('rate_limited');
      throw new PbxApiError(
        'rate-limited',
        endpoint,
        `HTTP 429: the PBX rate limiter banned this IP; sending nothing for ${Math.round(pause / 1000)} s (lower the poll rate or MIKOPBX_MAX_REQUESTS_PER_MINUTE)`,
        429,
      );
    }
    if (res.status === 503 || (res.status === 400 && /worker not responding|Request timeout/i.test(res.body))) {
      const pause = this.backoff.trip('overloaded');
      throw new PbxApiError('overloaded', endpoint, `HTTP ${res.status}: the PBX API queue is overloaded; backing off for ${Math.round(pause / 1000)} s`, res.status);
    }
    this.backoff.reset('overloaded');
    this.backoff.reset('rate_limited');
    return res;
  }

  private async fetch(spec: RequestSpec, endpoint: string): Promise<RawResponse> {
    const maxBody = this.opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const options: OptionsOfTextResponseBody = {
      method: spec.method ?? 'GET',
      headers: { accept: 'application/json', 'user-agent': 'mikopbx-exporter', ...spec.headers },
      timeout: { request: this.opts.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      responseType: 'text',
      agent: this.agent,
      https: { rejectUnauthorized: !this.opts.insecureSkipVerify, ...(this.opts.ca ? { certificateAuthority: this.opts.ca } : {}) },
    };
    if (spec.query) options.searchParams = spec.query;
    if (spec.form) options.form = spec.form;

    let tooLarge = false;
    const abort = new AbortController();
    options.signal = abort.signal;
    const request = got(this.opts.baseUrl + spec.path, options);
    request.on('downloadProgress', (p: { transferred: number; total?: number }) => {
      if (!tooLarge && (p.transferred > maxBody || (p.total !== undefined && p.total > maxBody))) {
        tooLarge = true;
        abort.abort();
      }
    });
    try {
      const res = await request;
      return { endpoint, status: res.statusCode, body: res.body, headers: res.headers };
    } catch (e) {
      if (tooLarge) {
        this.opts.onRequest?.(endpoint, 'error');
        throw new PbxApiError('too-large', endpoint, `response larger than ${Math.round(maxBody / 1048576)} MiB; abandoned`);
      }
      this.opts.onRequest?.(endpoint, 'error');
      throw classifyRequestError(e, endpoint, this.opts.timeoutMs);
    }
  }
}

function classifyRequestError(e: unknown, endpoint: string, timeoutMs: number): PbxApiError {
  const code = e instanceof RequestError ? (e.code ?? '') : ((e as NodeJS.ErrnoException)?.code ?? '');
  const msg = (e as Error)?.message ?? String(e);
  if (e instanceof RequestError && e.name === 'TimeoutError') {
    return new PbxApiError('timeout', endpoint, `no complete answer within ${timeoutMs / 1000} s (MIKOPBX_TIMEOUT_SECONDS)`);
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
    return new PbxApiError('network', endpoint, `${what[code] ?? code} (check MIKOPBX_URL and that the PBX is up)`);
  }
  return new PbxApiError('network', endpoint, `request failed: ${code || msg}`);
}
