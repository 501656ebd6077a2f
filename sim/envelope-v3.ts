// v3 envelope: PBXApiResult + meta{timestamp,hash}, re-encoded so empty objects become [].

import { createHash } from 'node:crypto';
import type { PbxClock } from './clock.js';
import type { ApiResult, RawResponse } from './http-types.js';
import { JSON_TYPE } from './http-types.js';
import { emptyObjectsToLists, phpJsonEncode } from './php-json.js';

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/** Response::send(): appends meta and sets the E-Tag header. */
export function renderV3Body(clock: PbxClock, status: number, body: Record<string, unknown>, extraHeaders: Record<string, string> = {}): RawResponse {
  const content = phpJsonEncode(emptyObjectsToLists(body));
  const timestamp = clock.iso();
  const meta = phpJsonEncode({ timestamp, hash: sha1(timestamp + content) });
  const text = content === '[]' ? `{"meta":${meta}}` : `${content.slice(0, -1)},"meta":${meta}}`;
  return {
    status,
    headers: { 'Content-Type': JSON_TYPE, 'E-Tag': sha1(content), ...extraHeaders },
    body: text,
  };
}

export function renderV3(clock: PbxClock, pid: number, api: ApiResult, status?: number): RawResponse {
  const body: Record<string, unknown> = {
    result: api.result,
    data: api.data,
    messages: api.messages ?? [],
    function: api.function,
    processor: api.processor,
    pid,
  };
  if (api.httpCode !== undefined) body.httpCode = api.httpCode;
  return renderV3Body(clock, status ?? api.httpCode ?? (api.result ? 200 : 422), body);
}

function errorEnvelope(clock: PbxClock, pid: number, status: number, message: string): RawResponse {
  return renderV3Body(clock, status, {
    result: false,
    data: [],
    messages: { error: [message] },
    function: '',
    processor: '',
    pid,
  });
}

export const v3Unauthorized = (clock: PbxClock, pid: number): RawResponse => errorEnvelope(clock, pid, 401, "The user isn't authenticated.");

export const v3Forbidden = (clock: PbxClock, pid: number): RawResponse =>
  errorEnvelope(clock, pid, 403, 'Access denied. You do not have permission to access this resource.');

export const v3Unavailable = (clock: PbxClock, pid: number): RawResponse =>
  errorEnvelope(clock, pid, 503, 'Service temporarily unavailable, please retry later');

export const v3InternalError = (clock: PbxClock, pid: number): RawResponse => errorEnvelope(clock, pid, 500, 'Internal Server Error');

/** BaseRestController::sendErrorResponse: result, messages and meta only */
export const v3WorkerTimeout = (clock: PbxClock): RawResponse =>
  renderV3Body(clock, 400, { result: false, messages: { error: ['Request timeout or worker not responding'] } });

export const v3MethodNotAllowed = (clock: PbxClock, method: string, verb: string): RawResponse =>
  renderV3Body(clock, 405, { result: false, messages: { error: [`Method '${method}' is not allowed with HTTP ${verb}`] } });

/** RouterProvider notFound handler: note `success`, not `result`, and `data:null` */
export const v3NotFound = (clock: PbxClock, path: string): RawResponse =>
  renderV3Body(clock, 404, { success: false, messages: { error: [`Endpoint not found: ${path}`] }, data: null });
