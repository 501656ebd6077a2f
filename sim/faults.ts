// Fault injection for resilience tests. Pre-route faults replace the answer before auth;
// post-route faults alter a successful answer (so they need a valid request to fire).

export const FAULT_KINDS = [
  'reset',
  'hang',
  'slow-drip',
  'http-500',
  'html-200',
  'html-login-200',
  'truncated-json',
  'malformed-json',
  'result-false',
  'wrong-shape',
  'huge-body',
  'status-429',
  'status-503',
  'worker-timeout-400',
  'empty-active-calls',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  /** path prefixes or exact paths; default: every API path (empty-active-calls: the active calls/channels paths) */
  paths?: string[];
  /** how many requests it hits; default: until cleared */
  count?: number;
  /** let this many matching requests through before it starts (e.g. the second page of a backlog); default 0 */
  skip?: number;
  /** slow-drip: ms between bytes (default 100) */
  intervalMs?: number;
  /** huge-body: body size (default 50 MB) */
  sizeBytes?: number;
  /** worker-timeout-400, http-500, status-503: wait before answering (default 0) */
  delayMs?: number;
  /** wrong-shape: data to send instead of the derived wrong shape */
  data?: unknown;
  /** result-false: error message */
  message?: string;
}

const PRE: ReadonlySet<FaultKind> = new Set([
  'reset',
  'hang',
  'http-500',
  'html-200',
  'html-login-200',
  'huge-body',
  'status-429',
  'status-503',
  'worker-timeout-400',
]);

const ACTIVE_CALL_PATHS = [
  '/pbxcore/api/v3/pbx-status:getActiveCalls',
  '/pbxcore/api/v3/pbx-status:getActiveChannels',
  '/pbxcore/api/cdr/getActiveCalls',
  '/pbxcore/api/cdr/getActiveChannels',
];

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  skip: number;
}

export function isFaultKind(k: unknown): k is FaultKind {
  return typeof k === 'string' && (FAULT_KINDS as readonly string[]).includes(k);
}

export class FaultInjector {
  private active: ActiveFault[] = [];
  /** held faults come first and survive set()/clear(): a member state of a simulated fleet */
  private held: ActiveFault[] = [];
  /** total times any fault fired */
  fired = 0;

  /** replaces every active fault with this one */
  set(spec: FaultSpec): void {
    this.clear();
    this.add(spec);
  }

  add(spec: FaultSpec): void {
    if (!isFaultKind(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}`);
    if (spec.paths !== undefined && (!Array.isArray(spec.paths) || spec.paths.some((p) => typeof p !== 'string'))) {
      throw new Error('paths must be a list of strings');
    }
    const count = spec.count ?? Infinity;
    if (!(count > 0)) throw new Error('count must be positive');
    const skip = spec.skip ?? 0;
    if (!(Number.isInteger(skip) && skip >= 0)) throw new Error('skip must be a non-negative integer');
    this.active.push({ spec: { ...spec }, remaining: count, skip });
  }

  clear(): void {
    this.active = [];
  }

  /** a fault that fires on every matching request until released; set(), clear() and list() leave it alone */
  hold(spec: FaultSpec): () => void {
    if (!isFaultKind(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}`);
    const f: ActiveFault = { spec: { ...spec }, remaining: Infinity, skip: 0 };
    this.held.push(f);
    return () => {
      this.held = this.held.filter((x) => x !== f);
    };
  }

  list(): (FaultSpec & { remaining: number | null })[] {
    return this.active.map((f) => ({ ...f.spec, remaining: Number.isFinite(f.remaining) ? f.remaining : null }));
  }

  private matches(f: ActiveFault, path: string): boolean {
    const paths = f.spec.paths ?? (f.spec.kind === 'empty-active-calls' ? ACTIVE_CALL_PATHS : null);
    if (paths === null) return true;
    return paths.some((p) => path === p || path.startsWith(p));
  }

  /** the first matching fault of the phase, consumed once */
  take(path: string, phase: 'pre' | 'post'): FaultSpec | null {
    for (const f of this.held) {
      if (PRE.has(f.spec.kind) !== (phase === 'pre') || !this.matches(f, path)) continue;
      this.fired++;
      return f.spec;
    }
    for (const f of this.active) {
      if (PRE.has(f.spec.kind) !== (phase === 'pre')) continue;
      if (!this.matches(f, path)) continue;
      if (f.skip > 0) {
        f.skip--; // this request passes untouched
        return null;
      }
      f.remaining--;
      if (f.remaining <= 0) this.active = this.active.filter((x) => x !== f);
      this.fired++;
      return f.spec;
    }
    return null;
  }

  /** would a post-route fault fire for this path (without consuming it) */
  hasPost(path: string): boolean {
    const post = (f: ActiveFault): boolean => !PRE.has(f.spec.kind) && this.matches(f, path);
    return this.held.some(post) || this.active.some(post);
  }
}

/** valid envelope, data of the wrong type */
export function wrongShape(data: unknown): unknown {
  if (Array.isArray(data)) return { unexpected: 'object instead of list' };
  if (data !== null && typeof data === 'object') return ['unexpected', 'list', 'instead', 'of', 'object'];
  return { unexpected: data };
}

export const PHP_WARNING_PREFIX =
  '<br />\n<b>Warning</b>:  Undefined array key "linkedid" in <b>/usr/www/src/PBXCoreREST/Lib/PbxStatus/GetActiveCallsAction.php</b> on line <b>87</b><br />\n';

/** The admin-cabinet login form, as a PBX (or a proxy in front of it) serves it to a lost session. */
export const HTML_LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>MikoPBX | Login</title></head>
<body class="login-page">
<form class="ui large form" id="login-form" action="/admin-cabinet/session/start" method="post">
<input type="text" name="login" placeholder="Login">
<input type="password" name="password" placeholder="Password">
<button class="ui fluid large submit button" id="submitbutton">Log in</button>
</form>
</body>
</html>
`;

export const HTML_200_PAGE = `<!DOCTYPE html>
<html>
<head><title>MikoPBX</title></head>
<body>
<h1>System is starting up</h1>
<p>Please wait, the web interface will be available shortly.</p>
<hr><center>nginx</center>
</body>
</html>
`;
