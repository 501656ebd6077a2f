import type { RawResponse } from './transport.js';
import { PbxApiError, ShapeError } from './errors.js';
import { isObject, type JsonObject } from './validate.js';

// What both API generations' envelopes share; each one's status rules are in v3-envelope.ts and
// legacy-envelope.ts.

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
    throw new PbxApiError(
      'parse',
      res.endpoint,
      `HTTP ${res.status} with a PHP ${(php[1] as string).toLowerCase()} printed before the JSON (a PHP error on the PBX; see its PHP log)`,
      res.status,
    );
  }
  if (/^\s*</.test(text) || ctype.includes('text/html')) {
    throw new PbxApiError(
      'parse',
      res.endpoint,
      `HTTP ${res.status} with an HTML page instead of JSON (a proxy, captive portal or web UI answered; check MIKOPBX_URL)`,
      res.status,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    const why = text.length === 0 ? 'an empty body' : `malformed or truncated JSON (${text.length} bytes)`;
    throw new PbxApiError('parse', res.endpoint, `HTTP ${res.status} with ${why}`, res.status);
  }
}

/**
 * The tail both generations share once the status has passed: JSON, an object, `result: true`, a
 * `data` field and `meta.timestamp`. `refusal` names what a refusing body carried (legacy router
 * errors have an `errors` list instead of result:false).
 */
export function openEnvelope(res: RawResponse, refusal: (body: JsonObject) => string = () => 'result:false'): Envelope {
  const { status, endpoint } = res;
  const body = parseJsonBody(res);
  if (!isObject(body)) throw new PbxApiError('shape', endpoint, 'answer is not a JSON object envelope');
  if (body.result !== true) {
    const detail = messagesText(body);
    throw new PbxApiError('result', endpoint, `the PBX answered ${refusal(body)}${detail ? `: ${detail}` : ''}`, status);
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
