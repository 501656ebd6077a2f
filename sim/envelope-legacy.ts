// Legacy (≤ 2024.x) envelope: jsonapi first, meta last, HTTP 200 even for result:false.

import { createHash } from 'node:crypto';
import type { PbxClock } from './clock.js';
import type { ApiResult, RawResponse } from './http-types.js';
import { JSON_TYPE } from './http-types.js';
import { emptyObjectsToLists, phpJsonEncode } from './php-json.js';

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

function renderLegacyBody(clock: PbxClock, status: number, content: Record<string, unknown>): RawResponse {
  const inner = phpJsonEncode(emptyObjectsToLists(content));
  const timestamp = clock.iso();
  const full = { jsonapi: { version: '1.0' }, ...content, meta: { timestamp, hash: sha1(timestamp + inner) } };
  return {
    status,
    headers: { 'Content-Type': JSON_TYPE, 'E-Tag': sha1(inner) },
    body: phpJsonEncode(emptyObjectsToLists(full)),
  };
}

export function renderLegacy(clock: PbxClock, pid: number, api: ApiResult): RawResponse {
  return renderLegacyBody(clock, 200, {
    result: api.result,
    data: api.data,
    messages: api.messages ?? [],
    function: api.function,
    processor: api.processor,
    pid,
  });
}

export function legacyError(clock: PbxClock, status: number, message: string): RawResponse {
  return renderLegacyBody(clock, status, { errors: [message] });
}

export const legacyUnauthorized = (clock: PbxClock): RawResponse => legacyError(clock, 401, "The user isn't authenticated.");
export const legacyForbidden = (clock: PbxClock): RawResponse => legacyError(clock, 403, 'The route is not allowed');
export const legacyNotFound = (clock: PbxClock): RawResponse => legacyError(clock, 404, '404 (Not Found)');
export const legacyServerError = (clock: PbxClock): RawResponse => legacyError(clock, 500, '500 (Internal Server Error) ');
