import type { Logger } from 'pino';
import { parseJsonBody } from './envelope.js';
import { notSent, PbxApiError } from './errors.js';
import type { RawResponse, RequestSpec, Transport } from './transport.js';
import { isObject } from './validate.js';

export const LEGACY_LOGIN_PATH = '/admin-cabinet/session/start';

export interface LegacyCredentials {
  login: string;
  password: string;
}

// The PBX counts every call to session/start, successful or not, and refuses the 10th in a 5-min
// bucket; stay far below so that a misbehaving PBX (sessions dropped again and again) cannot make
// this exporter lock the admin out.
const MAX_LOGINS = 3;
const LOGIN_WINDOW_MS = 300_000;
// fail2ban (jail mikopbx-www) bans the IP for 24 h after 5 "Wrong password" lines in 30 min; legacy
// logs one for every 401 and every failed login. Pause (login_refused) after 3 within 30 min.
const MAX_REFUSALS = 3;
const REFUSAL_WINDOW_MS = 1_800_000;

const SESSION_COOKIE = /(?:^|[;,]\s*)PHPSESSID=([^;,\s]*)/;

/** The PHPSESSID a response sets: a value, 'cleared' when the PBX deletes it, null when none. */
export function sessionCookieOf(res: RawResponse): string | 'cleared' | null {
  const raw = res.headers['set-cookie'];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  let found: string | 'cleared' | null = null;
  for (const line of lines) {
    const m = SESSION_COOKIE.exec(line);
    if (!m) continue;
    const value = m[1] ?? '';
    // PHP session ids are [A-Za-z0-9,-]; anything else (deleted, empty) ends the session.
    found = /^[A-Za-z0-9,-]{8,256}$/.test(value) && value !== 'deleted' ? value : 'cleared';
  }
  return found;
}

function loginMessage(body: unknown): string {
  if (!isObject(body)) return '';
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) Object.values(v).forEach(walk);
  };
  walk(body.message);
  walk(body.messages);
  return out.join('; ').slice(0, 200);
}

const prune = (times: number[], now: number, windowMs: number) => {
  while (times.length > 0 && (times[0] as number) <= now - windowMs) times.shift();
};

/**
 * The legacy web-admin session (mikopbx-api.md §3.1, §7.16): one PHPSESSID, kept and reused; a new
 * login only when there is none or a request was refused (401), then exactly one retry. Refused
 * credentials stop all traffic to the PBX (back-off `login_refused`) instead of looping.
 * The cookie is a secret: it goes to the target's secret scrubber and is never put in a message.
 */
export class LegacySession {
  private cookie: string | null = null;
  private loggingIn: Promise<string> | null = null;
  private readonly logins: number[] = [];
  private readonly refusals: number[] = [];
  /**
   * After a login that failed without a verdict (network, 404, 5xx, HTML), the other requests of
   * the same poll (same deadline) fail with that error instead of each trying to log in again.
   */
  private lastFailure: { poll: number; error: unknown } | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly creds: LegacyCredentials | undefined,
    private readonly log?: Logger,
  ) {}

  /** Sends a request within the session, logging in first or once more where needed. */
  async send(spec: RequestSpec): Promise<RawResponse> {
    const first = this.cookie ?? (this.creds ? await this.login() : null);
    let res = await this.sendWith(spec, first);
    if (res.status !== 401) return res;

    this.noteRefusal(res.endpoint);
    if (!this.creds) {
      this.stop(
        res.endpoint,
        'the PBX runs the legacy API (MikoPBX ≤ 2024.x) and refused a request without a session: set MIKOPBX_LOGIN and MIKOPBX_PASSWORD (only 127.0.0.1 may use the legacy API without logging in)',
        401,
      );
    }
    // Our session expired (or the PBX restarted): one new login, unless another request already
    // renewed it, and one retry.
    if (this.cookie === first) this.cookie = null;
    const second = this.cookie ?? (await this.login());
    res = await this.sendWith(spec, second);
    if (res.status !== 401) return res;

    // A brand-new session refused at once: retrying would only feed fail2ban.
    this.cookie = null;
    this.noteRefusal(res.endpoint);
    this.stop(res.endpoint, 'the PBX refused a request made right after a successful login (session cookie not accepted; is a proxy dropping cookies?)', 401);
  }

  private async sendWith(spec: RequestSpec, cookie: string | null): Promise<RawResponse> {
    const headers = { ...spec.headers, ...(cookie ? { cookie: `PHPSESSID=${cookie}` } : {}) };
    const res = await this.transport.send({ ...spec, headers });
    if (res.status !== 401 && cookie !== null && this.cookie === cookie) {
      // PHP may regenerate the session id on any answer.
      const next = sessionCookieOf(res);
      if (next === 'cleared') this.cookie = null;
      else if (next !== null) this.adopt(next);
    }
    return res;
  }

  private adopt(cookie: string): void {
    this.transport.keepSecret(cookie);
    this.cookie = cookie;
  }

  private login(): Promise<string> {
    const failed = this.lastFailure;
    if (failed && failed.poll !== Infinity && failed.poll === this.transport.pollDeadline()) return Promise.reject(failed.error);
    this.loggingIn ??= this.doLogin()
      .then(
        (cookie) => {
          this.lastFailure = null;
          return cookie;
        },
        (error: unknown) => {
          this.lastFailure = { poll: this.transport.pollDeadline(), error };
          throw error;
        },
      )
      .finally(() => {
        this.loggingIn = null;
      });
    return this.loggingIn;
  }

  private async doLogin(): Promise<string> {
    const creds = this.creds as LegacyCredentials;
    const now = this.transport.now();
    prune(this.logins, now, LOGIN_WINDOW_MS);
    if (this.logins.length >= MAX_LOGINS) {
      const wait = Math.ceil(((this.logins[0] as number) + LOGIN_WINDOW_MS - now) / 1000);
      throw new PbxApiError(
        'backoff',
        LEGACY_LOGIN_PATH,
        `not logging in again for another ${wait} s: ${this.logins.length} logins in the last 5 min already (the PBX locks the login after 10 in 5 min, counting successful ones)`,
      );
    }
    this.logins.push(now);

    let res: RawResponse;
    try {
      res = await this.transport.send({
        method: 'POST',
        path: LEGACY_LOGIN_PATH,
        form: { login: creds.login, password: creds.password },
        // Without it the PBX answers with the HTML login page instead of JSON.
        headers: { 'x-requested-with': 'XMLHttpRequest', accept: 'application/json, text/javascript, */*; q=0.01' },
      });
    } catch (e) {
      if (notSent(e)) {
        this.logins.pop(); // the PBX never saw it: it counts toward neither throttle
      } else if (!(e instanceof PbxApiError && (e.kind === 'network' || e.kind === 'tls' || e.kind === 'rate-limited'))) {
        // A login that may have reached PHP (timeout, bad answer) may have been counted as failed.
        this.noteRefusal(LEGACY_LOGIN_PATH);
      }
      throw e;
    }

    if (res.status === 404) {
      throw new PbxApiError(
        'not-found',
        LEGACY_LOGIN_PATH,
        `HTTP 404: ${LEGACY_LOGIN_PATH} does not exist; this is not a legacy MikoPBX (≤ 2024.x): check MIKOPBX_API_VERSION`,
        404,
      );
    }
    if (res.status >= 300 && res.status < 400) {
      const to = String(res.headers.location ?? '?');
      throw new PbxApiError(
        'http',
        LEGACY_LOGIN_PATH,
        `HTTP ${res.status} redirect to ${to} on login; set MIKOPBX_URL to the final https:// address`,
        res.status,
      );
    }
    if (res.status >= 500) {
      throw new PbxApiError('http', LEGACY_LOGIN_PATH, `HTTP ${res.status} on login: the PBX web server failed`, res.status);
    }
    let body: unknown;
    try {
      body = parseJsonBody(res);
    } catch (e) {
      this.noteRefusal(LEGACY_LOGIN_PATH);
      throw e;
    }
    const said = loginMessage(body);
    if (isObject(body) && body.success === true && res.status >= 200 && res.status < 300) {
      const cookie = sessionCookieOf(res);
      if (cookie === null || cookie === 'cleared') {
        this.stop(LEGACY_LOGIN_PATH, 'the PBX accepted the login but set no PHPSESSID session cookie', res.status);
      }
      this.adopt(cookie);
      this.transport.backoff.reset('login_refused'); // a clean login ends the doubling of earlier pauses
      this.log?.info({ login: creds.login }, `logged in to the legacy MikoPBX web admin as ${creds.login}`);
      return cookie;
    }

    this.noteRefusal(LEGACY_LOGIN_PATH, false);
    const throttled = /too many|\b0 attempts/i.test(said);
    const why = throttled
      ? `the PBX's login throttle refused user ${creds.login} (too many logins from this IP within 5 min; another tool behind the same address?)`
      : `MikoPBX refused the login for user ${creds.login}: wrong MIKOPBX_LOGIN or MIKOPBX_PASSWORD (fix them and restart the exporter)`;
    this.stop(LEGACY_LOGIN_PATH, `${why}${said ? `; the PBX said: ${said}` : ''}`, res.status);
  }

  /** Records a refusal the PBX may have logged as "Wrong password"; pauses before fail2ban would ban. */
  private noteRefusal(endpoint: string, mayStop = true): void {
    const now = this.transport.now();
    prune(this.refusals, now, REFUSAL_WINDOW_MS);
    this.refusals.push(now);
    if (mayStop && this.refusals.length >= MAX_REFUSALS) {
      this.refusals.length = 0;
      this.stop(endpoint, `the PBX refused this exporter ${MAX_REFUSALS} times within 30 min (sessions dropped or logins failing)`, 401);
    }
  }

  /** Trips the login_refused back-off, says so plainly, and fails the request. */
  private stop(endpoint: string, why: string, status: number): never {
    this.cookie = null;
    const pauseMs = this.transport.backoff.trip('login_refused');
    const minutes = Math.round(pauseMs / 60_000);
    const text = `${why}; sending nothing to this PBX for ${minutes} min so that its login throttle and fail2ban do not ban this exporter's IP`;
    this.log?.error({ reason: 'login_refused', endpoint, pauseSeconds: Math.round(pauseMs / 1000) }, text);
    throw new PbxApiError('auth', endpoint, text, status);
  }
}
