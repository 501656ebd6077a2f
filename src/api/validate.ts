import { ShapeError } from './errors.js';

// Small validators for response parsing: every function names the path it was checking,
// so a log line says exactly which field of which answer was wrong.

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function expectObject(v: unknown, path: string): JsonObject {
  if (!isObject(v)) throw new ShapeError(path, `expected an object, got ${describe(v)}`);
  return v;
}

export function expectArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ShapeError(path, `expected a list, got ${describe(v)}`);
  return v;
}

/**
 * MikoPBX maps keyed by id: a JSON object when non-empty, `[]` when empty (PHP json_encode of an
 * empty array), and a list if the keys happen to be 0..n-1. Returns the entries in every case.
 */
export function expectMapOrList(v: unknown, path: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  throw new ShapeError(path, `expected an object keyed by id or [], got ${describe(v)}`);
}

export function expectString(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ShapeError(path, `expected a string, got ${describe(v)}`);
  return v;
}

/** Ids and numbers may come as strings or ints depending on the PHP code path. */
export function expectId(v: unknown, path: string): string {
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ShapeError(path, `expected an id, got ${describe(v)}`);
}

export function optionalString(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ShapeError(path, `expected a string, got ${describe(v)}`);
}

/** A number that may be absent, null, "" or a numeric string (AMI values pass through as text). */
export function optionalNumber(v: unknown, path: string): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ShapeError(path, 'expected a finite number');
    return v;
  }
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
    return null; // e.g. "N/A"
  }
  throw new ShapeError(path, `expected a number, got ${describe(v)}`);
}

export function expectInteger(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ShapeError(path, `expected an integer, got ${describe(v)}`);
  return n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : JSON.stringify(v);
  return typeof v;
}
