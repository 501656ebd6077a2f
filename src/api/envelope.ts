import type { RawResponse } from './transport.js';
import { PbxApiError, ShapeError } from './errors.js';
import { isObject } from './validate.js';

export interface Envelope {
  data: unknown;
  /** meta.timestamp: PBX-local ISO time with offset, when present. */
  timestamp: string | undefined;
}

/** Collects the text of MikoPBX `messages` ([] or {error:[…],…} or ["text"]) and legacy `errors`. */
export function messagesText(body: unknown, key: 'error' | 'all' = 'error'): string {
  if (!isObject(body)) return '';
  const out: string[] = [];
  const push = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(push);
  };
  const m = body.messages;
  if (Array.isArray(m)) push(m);
  else if (isObject(m)) {
    if (key === 'all') Object.values(m).forEach(push);
    else push(m.error);
  }
  push(body.errors);
  return out.join('; ').slice(0, 300);
}

/**
 * For a 3xx answer, the hint that names its target. Redirects are never followed (they would take
 * the key wherever they point, e.g. MikoPBX's RedirectToHttps): the final address belongs in
 * MIKOPBX_URL.
 */
export function redirectHint(res: Pick<RawResponse, 'status' | 'headers'>): string {
  if (res.status < 300 || res.status >= 400) return '';
  return ` (redirect to ${String(res.headers.location ?? '?')}; set MIKOPBX_URL to the final https:// address)`;
}

export function parseJsonBody(res: RawResponse): unknown {
  const ctype = String(res.headers['content-type'] ?? '');
  const text = res.body;
  const php = /^\s*(?:<br\s*\/?>\s*)?<b>(Warning|Notice|Deprecated|Fatal error|Parse error)<\/b>/i.exec(text);
  if (php) {
    throw new PbxApiError('parse', res.endpoint, `HTTP ${res.status} with a PHP ${(php[1] as string).toLowerCase()} printed before the JSON (a PHP error on the PBX; see its PHP log)`, res.status);
  }
  if (/^\s*</.test(text) || ctype.includes('text/html')) {
    throw new PbxApiError('parse', res.endpoint, `HTTP ${res.status} with an HTML page instead of JSON (a proxy, captive portal or web UI answered; check MIKOPBX_URL)`, res.status);
  }
  try {
    return JSON.parse(text);
  } catch {
    const why = text.length === 0 ? 'an empty body' : `malformed or truncated JSON (${text.length} bytes)`;
    throw new PbxApiError('parse', res.endpoint, `HTTP ${res.status} with ${why}`, res.status);
  }
}

/** The path a v3 API key's allowed_paths must list for this endpoint (MikoPBX's own normalisation). */
export function permissionPathOf(endpoint: string): string {
  const p = endpoint
    .replace(/^\/pbxcore/, '')
    .replace(/:[A-Za-z]+$/, '')
    .replace(/\/+$/, '');
  const parts = p.split('/');
  const last = parts[parts.length - 1] ?? '';
  if (parts.length > 4 && /^(\d+|[A-Z]+-[A-Z0-9-]+)$/.test(last)) parts.pop();
  return parts.join('/');
}

/**
 * Checks status and envelope of a v3 answer and returns its data. v3 signals errors by status
 * (401/403/404/422/…) but a 200 can still carry result:false, so both are checked.
 */
export function unwrapV3(res: RawResponse, opts: { keyConfigured?: boolean } = {}): Envelope {
  const { status, endpoint } = res;
  if (status === 401 && opts.keyConfigured === false) {
    // Nothing was refused: there was nothing to refuse. MikoPBX lets keyless callers in from
    // 127.0.0.1 and ::1 only (mikopbx-api.md §2.2).
    throw new PbxApiError(
      'auth',
      endpoint,
      `HTTP 401: no API key is configured, and MikoPBX answers requests without one only from 127.0.0.1; create a read-only API key on the PBX and set MIKOPBX_API_KEY_FILE (or MIKOPBX_API_KEY)`,
      status,
    );
  }
  if (status === 401 || status === 403) {
    throw new PbxApiError(
      'auth',
      endpoint,
      `HTTP ${status}: the PBX refused the API key for ${endpoint}; the key is wrong, revoked, limited to another network, or lacks "read" permission for ${permissionPathOf(endpoint)} (MikoPBX answers 401 for all of these; key changes take up to 5 min to apply)`,
      status,
    );
  }
  if (status === 404) {
    throw new PbxApiError('not-found', endpoint, `HTTP 404: ${endpoint} does not exist on this PBX (wrong MIKOPBX_API_VERSION, or an older/newer MikoPBX)`, 404);
  }
  if (status < 200 || status >= 300) {
    let detail = '';
    try {
      detail = messagesText(JSON.parse(res.body));
    } catch {
      /* body not JSON: status says enough */
    }
    throw new PbxApiError(status === 422 ? 'result' : 'http', endpoint, `HTTP ${status}${detail ? `: ${detail}` : ''}${redirectHint(res)}`, status);
  }
  const body = parseJsonBody(res);
  if (!isObject(body)) throw new PbxApiError('shape', endpoint, 'answer is not a JSON object envelope');
  if (body.result !== true) {
    const detail = messagesText(body);
    throw new PbxApiError('result', endpoint, `the PBX answered result:false${detail ? `: ${detail}` : ''}`, status);
  }
  if (!('data' in body)) throw new PbxApiError('shape', endpoint, 'envelope has no data field');
  const meta = isObject(body.meta) ? body.meta : undefined;
  return { data: body.data, timestamp: typeof meta?.timestamp === 'string' ? meta.timestamp : undefined };
}

/** Runs a parser over envelope data, turning a ShapeError into a PbxApiError for that endpoint. */
export function parseData<T>(endpoint: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ShapeError) throw new PbxApiError('shape', endpoint, `unexpected answer shape at ${e.message}`);
    throw e;
  }
}
