// PHP `json_encode()` with default flags (what Phalcon's setJsonContent uses):
// `/` is escaped as `\/` and every non-ASCII UTF-16 unit as `\uXXXX` (lowercase hex).
// `/` and non-ASCII characters can only occur inside JSON strings, so post-processing is safe.

export function phpJsonEncode(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  return json.replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The v3 response is JSON-decoded into PHP arrays and encoded again, so every empty
 * JSON object anywhere in the body comes out as `[]`.
 */
export function emptyObjectsToLists(value: unknown): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const nv = emptyObjectsToLists(v);
      if (nv !== v) {
        copy ??= value.slice();
        copy[i] = nv;
      }
    }
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return [];
    let copy: Record<string, unknown> | null = null;
    for (const [k, v] of entries) {
      const nv = emptyObjectsToLists(v);
      if (nv !== v) {
        copy ??= { ...(value as Record<string, unknown>) };
        copy[k] = nv;
      }
    }
    return copy ?? value;
  }
  return value;
}
