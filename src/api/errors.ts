/**
 * Why a request to the PBX failed. Each kind maps to one operator action in the README's
 * troubleshooting table, so keep the set small and the messages specific.
 */
export type ApiErrorKind =
  | 'timeout' // no complete answer within MIKOPBX_TIMEOUT_SECONDS
  | 'network' // refused, reset, DNS, unreachable
  | 'tls' // certificate or handshake problem
  | 'auth' // 401/403: wrong key or password, or missing permission
  | 'rate-limited' // HTTP 429 from nginx: the PBX banned this IP
  | 'overloaded' // 503 queue full or 400 "worker not responding"
  | 'http' // any other unexpected status
  | 'parse' // body is not the JSON we asked for
  | 'shape' // JSON of the wrong shape
  | 'result' // the envelope says result:false
  | 'not-found' // 404: endpoint absent (API generation mismatch)
  | 'too-large' // body above the size limit
  | 'backoff' // not sent: backing off after a ban, overload or refused login
  | 'budget' // not sent: the request budget for this minute is spent
  | 'deadline' // not sent: the poll's time (its interval) is used up by slow answers before
  | 'skipped' // not sent: an earlier request of the same poll timed out or met a network failure
  | 'in_flight' // not sent: fleet mode's MAX_REQUESTS_IN_FLIGHT stayed taken by other PBXs for the rest of the poll
  | 'shutdown'; // not sent or aborted: the exporter is stopping

export class PbxApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly endpoint: string,
    message: string,
    readonly status?: number,
    /** The socket error code of a network failure (ECONNREFUSED, ECONNRESET, …). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'PbxApiError';
  }
}

/** A response body that does not match the documented MikoPBX shape; `path` says where. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ShapeError';
  }
}

const NOT_SENT: ReadonlySet<ApiErrorKind> = new Set(['backoff', 'budget', 'deadline', 'skipped', 'shutdown', 'in_flight']);

/** Whether the request never left the exporter (the PBX saw nothing of it). */
export function notSent(e: unknown): boolean {
  return e instanceof PbxApiError && NOT_SENT.has(e.kind);
}
