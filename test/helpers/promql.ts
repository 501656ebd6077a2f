// A small PromQL scanner for static checks: finds vector selectors (metric name + matchers),
// range durations and function calls. Not a full parser; Prometheus itself parses the queries
// in the live tests.

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** Metric name, or undefined for a `{...}` selector without one. */
  name: string | undefined;
  matchers: Matcher[];
  /** Range of a range-vector selector (`x[5m]` → `5m`), if any. */
  range: string | undefined;
}

export interface ScanResult {
  selectors: Selector[];
  /** Names of called functions / aggregations, in order. */
  calls: string[];
  /** Label names in by/without/on/ignoring/group_left/group_right lists. */
  groupingLabels: string[];
  /** All `[...]` contents (ranges and subqueries). */
  ranges: string[];
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'atan2',
  'inf',
  'nan',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'braces'; text: string }
  | { kind: 'brackets'; text: string }
  | { kind: 'punct'; text: string };

function readString(s: string, i: number): [string, number] {
  const q = s[i];
  let j = i + 1;
  let out = '';
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\' && q !== '`') {
      out += s[j + 1] ?? '';
      j += 2;
    } else {
      out += s[j];
      j++;
    }
  }
  if (j >= s.length) throw new Error(`unterminated string in: ${s}`);
  return [out, j + 1];
}

function readBlock(s: string, i: number, open: string, close: string): [string, number] {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s[j] as string;
    if (c === '"' || c === "'" || c === '`') {
      j = readString(s, j)[1];
      continue;
    }
    if (c === open) depth++;
    if (c === close) {
      depth--;
      if (depth === 0) return [s.slice(i + 1, j), j + 1];
    }
    j++;
  }
  throw new Error(`unbalanced ${open}${close} in: ${s}`);
}

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      const [text, j] = readString(expr, i);
      tokens.push({ kind: 'string', text });
      i = j;
    } else if (c === '{') {
      const [text, j] = readBlock(expr, i, '{', '}');
      tokens.push({ kind: 'braces', text });
      i = j;
    } else if (c === '[') {
      const [text, j] = readBlock(expr, i, '[', ']');
      tokens.push({ kind: 'brackets', text });
      i = j;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-f]+|[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?([smhdwy]|ms)*)/i.exec(expr.slice(i));
      const text = m?.[0] || c;
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if (/[a-zA-Z_:$]/.test(c)) {
      // `$var` and `${var}` are Grafana variables; keep them as identifiers starting with `$`.
      const m = /^(\$\{[^}]*\}|\$?[a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expr.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ kind: 'ident', text });
      i += text.length;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

export function parseMatchers(body: string): Matcher[] {
  const out: Matcher[] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?/y;
  let pos = 0;
  const trimmed = body.trim();
  if (trimmed === '') return out;
  while (pos < body.length) {
    if (/^\s*$/.test(body.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m?.[1] || !m[2] || !m[3]) throw new Error(`cannot parse matchers {${body}}`);
    const raw = m[3];
    out.push({ label: m[1], op: m[2] as Matcher['op'], value: raw.slice(1, -1).replace(/\\(.)/g, '$1') });
    pos = re.lastIndex;
  }
  return out;
}

export function scan(expr: string): ScanResult {
  const t = tokenize(expr);
  const res: ScanResult = { selectors: [], calls: [], groupingLabels: [], ranges: [] };
  for (let i = 0; i < t.length; i++) {
    const tok = t[i] as Token;
    const next = t[i + 1];
    if (tok.kind === 'brackets') {
      res.ranges.push(tok.text);
      continue;
    }
    if (tok.kind === 'braces') {
      // A selector without a metric name (the named case is consumed below).
      res.selectors.push({ name: undefined, matchers: parseMatchers(tok.text), range: rangeAfter(t, i + 1) });
      continue;
    }
    if (tok.kind !== 'ident' || tok.text.startsWith('$')) continue;
    const lower = tok.text.toLowerCase();
    if (GROUPING.has(lower)) {
      // by (a, b) — the list is optional after group_left/group_right.
      if (next?.kind === 'punct' && next.text === '(') {
        let j = i + 2;
        while (j < t.length && !(t[j]?.kind === 'punct' && t[j]?.text === ')')) {
          const x = t[j];
          if (x?.kind === 'ident') res.groupingLabels.push(x.text);
          j++;
        }
        i = j;
      }
      continue;
    }
    if (lower === 'offset') {
      i++; // skip the duration
      continue;
    }
    if (next?.kind === 'punct' && next.text === '(') {
      res.calls.push(tok.text);
      continue;
    }
    if (KEYWORDS.has(lower)) continue;
    if (next?.kind === 'braces') {
      res.selectors.push({ name: tok.text, matchers: parseMatchers(next.text), range: rangeAfter(t, i + 2) });
      i++;
      continue;
    }
    res.selectors.push({ name: tok.text, matchers: [], range: rangeAfter(t, i + 1) });
  }
  return res;
}

function rangeAfter(t: Token[], i: number): string | undefined {
  const x = t[i];
  return x?.kind === 'brackets' ? x.text : undefined;
}

/** Metric names used in an expression (selectors with a name, or `__name__="..."`). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const s of scan(expr).selectors) {
    if (s.name) names.add(s.name);
    for (const m of s.matchers) if (m.label === '__name__' && m.op === '=') names.add(m.value);
  }
  return [...names];
}
