import { AmiShapeError } from './errors.js';
import type { AmiFrame } from './frame.js';

// Field readers for parsed frames, in the style of ../validate.ts: each names the field it read
// (`QueueMember[3].Paused`), so a log line says exactly what was wrong.

export interface FieldReader {
  /** A required field, any text (possibly empty). */
  text(key: string): string;
  /** An optional field: '' where absent. */
  optionalText(key: string): string;
  /** A required integer (Asterisk writes them with %d). */
  int(key: string): number;
  /** An optional integer: null where absent. */
  optionalInt(key: string): number | null;
  /** A required decimal (%f, %2.1f). */
  decimal(key: string): number;
  optionalDecimal(key: string): number | null;
  /** 0 or 1. */
  flag(key: string): boolean;
  /** Asterisk's AST_CLI_YESNO: "Yes" or "No". */
  yesNo(key: string): boolean;
  /** A required text matching a pattern. */
  matching(key: string, pattern: RegExp, what: string): string;
}

export function fieldsOf(frame: AmiFrame, where: string): FieldReader {
  const name = (key: string) => `${where}.${key}`;
  const required = (key: string): string => {
    const v = frame.get(key);
    if (v === undefined) throw new AmiShapeError(name(key), 'missing');
    return v;
  };
  const int = (key: string, v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new AmiShapeError(name(key), `expected an integer, got ${show(v)}`);
    return Number(v.trim());
  };
  const decimal = (key: string, v: string): number => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n)) throw new AmiShapeError(name(key), `expected a number, got ${show(v)}`);
    return n;
  };
  return {
    text: required,
    optionalText: (key) => frame.get(key) ?? '',
    int: (key) => int(key, required(key)),
    optionalInt: (key) => {
      const v = frame.get(key);
      return v === undefined ? null : int(key, v);
    },
    decimal: (key) => decimal(key, required(key)),
    optionalDecimal: (key) => {
      const v = frame.get(key);
      return v === undefined ? null : decimal(key, v);
    },
    flag: (key) => {
      const v = required(key).trim();
      if (v !== '0' && v !== '1') throw new AmiShapeError(name(key), `expected 0 or 1, got ${show(v)}`);
      return v === '1';
    },
    yesNo: (key) => {
      const v = required(key).trim().toLowerCase();
      if (v !== 'yes' && v !== 'no') throw new AmiShapeError(name(key), `expected Yes or No, got ${show(v)}`);
      return v === 'yes';
    },
    matching: (key, pattern, what) => {
      const v = required(key);
      if (!pattern.test(v)) throw new AmiShapeError(name(key), `expected ${what}, got ${show(v)}`);
      return v;
    },
  };
}

function show(v: string): string {
  return v.length > 40 ? 'a long text' : JSON.stringify(v);
}
