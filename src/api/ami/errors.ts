/**
 * Why an AMI exchange failed. Like PbxApiError's kinds, each maps to one thing an operator does,
 * and no message ever carries the AMI secret (the client builds messages from its own words and
 * the server's `Message:` texts only, and scrubs the secret from both).
 */
export type AmiErrorKind =
  | 'auth' // Login refused (wrong user or secret, or the network filter): the client stops for a long pause
  | 'permission' // "Permission denied": the AMI user's write mask does not allow the action
  | 'error-response' // any other Response: Error (unknown command, Asterisk shutting down, …)
  | 'timeout' // no complete answer within the per-action timeout (the connection is dropped)
  | 'network' // refused, reset, DNS, unreachable, closed by the PBX
  | 'tls' // certificate or handshake problem
  | 'greeting' // the peer is not an Asterisk manager (wrong port, a proxy, an HTTP server)
  | 'protocol' // garbage, an oversized frame or list, an answer that does not fit the request
  | 'shape' // a frame without a field we need, or with a value of the wrong kind
  | 'not-allowed' // the exporter itself refused to send an action outside its allowlist
  | 'backoff' // not sent: waiting before reconnecting, or after a refused login
  | 'closed'; // not sent or aborted: the client was closed

export class AmiError extends Error {
  constructor(
    readonly kind: AmiErrorKind,
    /** The action concerned ('' for the connection itself). */
    readonly action: string,
    message: string,
  ) {
    super(message);
    this.name = 'AmiError';
  }
}

/** A frame field that is missing or not what the protocol says; `field` names it (`QueueParams[2].Completed`). */
export class AmiShapeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'AmiShapeError';
  }
}
