// Internal request/response shapes shared by routers, envelopes and faults.

import type { IncomingHttpHeaders } from 'node:http';

export type Messages = Record<string, string[]> | string[];

/** What a PBX action returns (PBXApiResult), before the envelope is applied. */
export interface ApiResult {
  result: boolean;
  data: unknown;
  messages?: Messages;
  function: string;
  processor: string;
  /** explicit httpCode: also written into the body, as PBXApiResult does */
  httpCode?: number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export type RouteOutcome = { kind: 'api'; api: ApiResult; authorized: boolean } | { kind: 'raw'; raw: RawResponse; authorized: boolean };

export interface RequestContext {
  method: string;
  path: string;
  query: Record<string, string>;
  /** query merged over a JSON or form body; the query string wins */
  params: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  ip: string;
  body: string;
}

export const JSON_TYPE = 'application/json; charset=UTF-8';

export function raw(status: number, body: string | Buffer, contentType: string, extra: Record<string, string> = {}): RawResponse {
  return { status, headers: { 'Content-Type': contentType, ...extra }, body };
}

export function paramString(params: Record<string, unknown>, key: string): string | undefined {
  const v = params[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** PHP intval() of a request value: leading integer, else 0 */
export function phpIntval(v: unknown): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'string') return 0;
  const m = /^\s*([+-]?\d+)/.exec(v);
  return m ? Number(m[1]) : 0;
}

/** filter_var(..., FILTER_VALIDATE_BOOLEAN) without NULL_ON_FAILURE */
export function phpBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  if (typeof v !== 'string') return false;
  return ['1', 'true', 'on', 'yes'].includes(v.trim().toLowerCase());
}
