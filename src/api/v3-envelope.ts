import { messagesText, openEnvelope, redirectHint, type Envelope } from './envelope.js';
import { PbxApiError } from './errors.js';
import type { RawResponse } from './transport.js';

// The v3 half of the envelope code (MikoPBX 2025.1+); legacy has its own in legacy-envelope.ts.

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
    throw new PbxApiError(
      'not-found',
      endpoint,
      `HTTP 404: ${endpoint} does not exist on this PBX (wrong MIKOPBX_API_VERSION, or an older/newer MikoPBX)`,
      404,
    );
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
  return openEnvelope(res);
}
