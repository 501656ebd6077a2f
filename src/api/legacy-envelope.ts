import { messagesText, openEnvelope, redirectHint, type Envelope } from './envelope.js';
import { PbxApiError } from './errors.js';
import type { RawResponse } from './transport.js';

/** Text of a legacy error body's `errors` list (or messages), '' when none or not JSON. */
function errorText(res: RawResponse): string {
  try {
    return messagesText(JSON.parse(res.body)).trim();
  } catch {
    return '';
  }
}

/**
 * Checks status and envelope of a legacy answer (mikopbx-api.md §3.2) and returns its data.
 * Legacy answers business errors with HTTP 200 and `result:false`, and router/auth errors with
 * 401/403/404/500 and `{"jsonapi":…,"errors":[…]}` (no `result`).
 */
export function unwrapLegacy(res: RawResponse): Envelope {
  const { status, endpoint } = res;
  const detail = status === 200 ? '' : errorText(res);
  const said = detail ? ` (the PBX said: ${detail})` : '';
  if (status === 401) {
    throw new PbxApiError('auth', endpoint, `HTTP 401: the PBX refused the web-admin session${said}`, 401);
  }
  if (status === 403) {
    throw new PbxApiError('auth', endpoint, `HTTP 403: the web-admin user in MIKOPBX_LOGIN may not use ${endpoint}${said}; use an administrator account`, 403);
  }
  if (status === 404) {
    throw new PbxApiError('not-found', endpoint, `HTTP 404: ${endpoint} does not exist on this PBX (wrong MIKOPBX_API_VERSION, or a newer MikoPBX)`, 404);
  }
  if (status === 500) {
    // Legacy answers 500 when its API worker (Beanstalk) does not reply within 10 s.
    throw new PbxApiError('http', endpoint, `HTTP 500${said}: the PBX's API worker did not answer in time`, 500);
  }
  if (status < 200 || status >= 300) {
    throw new PbxApiError('http', endpoint, `HTTP ${status}${detail ? `: ${detail}` : ''}${redirectHint(res)}`, status);
  }
  return openEnvelope(res, (body) => (Array.isArray(body.errors) ? 'errors' : 'result:false'));
}
