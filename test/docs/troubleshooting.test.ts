// Every message an operator can see has a row in docs/troubleshooting.md: the texts of
// PbxApiError, AmiError, ConfigError (and its web-config wrapper fail()), the legacy session's stop(), and
// every warn/error/fatal log line are read from src/ with the TypeScript parser, and a
// distinctive fragment of each must appear in the doc. A new message without a row fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = 'docs/troubleshooting.md';

/** Calls whose argument at `arg` is an operator-visible message. */
const MESSAGE_ARGS: { ctor?: string; fn?: string; arg: number }[] = [
  { ctor: 'PbxApiError', arg: 2 },
  // src/api/ami/: AMI errors reach operators through the queues/asterisk poll lines.
  { ctor: 'AmiError', arg: 2 },
  { ctor: 'ConfigError', arg: 1 },
  // src/http/web-config.ts: fail(file, problem) throws ConfigError.
  { fn: 'fail', arg: 1 },
  // src/api/legacy-auth.ts: stop(endpoint, why, status) logs an error and throws PbxApiError.
  { fn: 'stop', arg: 1 },
];
const LOG_LEVELS = new Set(['warn', 'error', 'fatal']);

/**
 * Messages with no fragment worth checking: they only wrap a text documented elsewhere or echo
 * the PBX's own words. Keyed by source text, so a rephrasing shows up here too.
 */
const ALLOWED_WITHOUT_ROW = new Set([
  // "HTTP 502: <the PBX's own error text>": the generic `http` row.
  "`HTTP ${status}${detail ? `: ${detail}` : ''}${redirectHint(res)}`",
  // "invalid configuration: WEB_CONFIG_FILE (<file>): <problem>": the problems are checked at fail().
  '`(${file}): ${problem}`',
  // "invalid configuration: TARGETS_FILE (<file>) line N: <key> <problem>": the problems are checked at fail() and at their ConfigErrors.
  '`(${this.file}) line ${this.line(path, key)}: ${dotted(key === undefined ? path : [...path, key])} ${problem}`',
  "`(${this.file}) line ${this.line(path)}: ${e.message.replace(/^invalid configuration: /, '')}`",
  // "QueueStatus: <a connection error>": the connection errors have their own rows.
  '`${p.action}: ${e.message}`',
]);

interface Message {
  /** What carried it: PbxApiError, ConfigError, fail, stop or log. */
  via: string;
  where: string;
  source: string;
  /** Static text pieces, in order (template heads and literals). */
  pieces: string[];
  /** Texts of the named parts (`${why}`), each checked on its own where it has a fragment. */
  parts: Message[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Initialisers of every `const name = …` in a file (enough for the messages built in steps). */
function constInitialisers(sf: ts.SourceFile): Map<string, ts.Expression[]> {
  const out = new Map<string, ts.Expression[]>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
      out.set(n.name.text, [...(out.get(n.name.text) ?? []), n.initializer]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The messages an expression can produce: each branch of a ?: and each named part separately. */
type Site = Pick<Message, 'via' | 'where'>;

function messagesOf(e: ts.Expression, consts: Map<string, ts.Expression[]>, site: Site, depth = 0): Message[] {
  if (depth > 4) return [];
  const source = e.getText();
  if (ts.isParenthesizedExpression(e)) return messagesOf(e.expression, consts, site, depth);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [{ ...site, source, pieces: [e.text], parts: [] }];
  if (ts.isConditionalExpression(e)) return [...messagesOf(e.whenTrue, consts, site, depth + 1), ...messagesOf(e.whenFalse, consts, site, depth + 1)];
  if (ts.isIdentifier(e)) return (consts.get(e.text) ?? []).flatMap((init) => messagesOf(init, consts, site, depth + 1));
  if (ts.isTemplateExpression(e)) {
    // `${why}; sending nothing…`: what `why` can be is a message of its own.
    const parts = e.templateSpans.filter((s) => ts.isIdentifier(s.expression)).flatMap((s) => messagesOf(s.expression, consts, site, depth + 1));
    return [{ ...site, source, pieces: [e.head.text, ...e.templateSpans.map((s) => s.literal.text)], parts }];
  }
  return [];
}

function collect(): Message[] {
  const out: Message[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const consts = constInitialisers(sf);
    const at = (n: ts.Node) => `${relative(root, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const visit = (n: ts.Node): void => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression)) {
        const ctor = n.expression.text;
        const spec = MESSAGE_ARGS.find((s) => s.ctor === ctor);
        const arg = spec && n.arguments?.[spec.arg];
        if (arg) out.push(...messagesOf(arg, consts, { via: ctor, where: at(n) }));
      }
      if (ts.isCallExpression(n)) {
        const callee = n.expression;
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
        const spec = MESSAGE_ARGS.find((s) => s.fn === name);
        const arg = spec && n.arguments[spec.arg];
        if (arg) out.push(...messagesOf(arg, consts, { via: name, where: at(n) }));
        // log.warn(…), this.log.error(…), ctx.log.warn(…), opts.logger.fatal(…): the message is the last argument.
        if (ts.isPropertyAccessExpression(callee) && LOG_LEVELS.has(name) && /\b(log|logger)$/.test(callee.expression.getText())) {
          const last = n.arguments[n.arguments.length - 1];
          if (last) out.push(...messagesOf(last, consts, { via: 'log', where: at(n) }));
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

const words = (s: string) => s.split(/\s+/).filter((w) => /\p{L}.*\p{L}/u.test(w));

/**
 * The fragment to look for: the first static piece with at least two words, cut after its sixth
 * word (docs shorten long messages with …), without leading or trailing punctuation.
 */
function fragmentOf(m: Message): string | undefined {
  for (const raw of m.pieces) {
    const piece = raw.replace(/\s+/g, ' ').replace(/^[\s;:,.)"']+|[\s;:,("']+$/g, '');
    if (words(piece).length < 2) continue;
    const tokens = piece.split(' ');
    let seen = 0;
    let end = tokens.length;
    for (let i = 0; i < tokens.length; i++) {
      if (words(tokens[i] as string).length > 0 && ++seen === 6) {
        end = i + 1;
        break;
      }
    }
    return tokens
      .slice(0, end)
      .join(' ')
      .replace(/[\s;:,(]+$/, '');
  }
  return undefined;
}

const normalise = (s: string) => s.replace(/\\\|/g, '|').replace(/\s+/g, ' ');

describe(`${DOC} covers every operator-visible message in src/`, () => {
  const messages = collect();
  const doc = normalise(readFileSync(join(root, DOC), 'utf8'));

  it('finds the messages (the extraction still works)', () => {
    const via = new Set(messages.map((m) => m.via));
    for (const v of [...MESSAGE_ARGS.map((s) => s.ctor ?? s.fn), 'log']) expect(via, `messages passed to ${v}`).toContain(v);
    expect(messages.length).toBeGreaterThan(80);
  });

  it('has a row for every message', () => {
    const missing: string[] = [];
    const check = (m: Message, top: boolean): boolean => {
      const fragment = fragmentOf(m);
      const parts = m.parts.map((p) => check(p, false)).some(Boolean);
      if (fragment !== undefined && !doc.includes(normalise(fragment))) missing.push(`${m.where}: "${fragment}"`);
      // A message built only from named parts (`${why}${said}`) is covered by them.
      if (top && fragment === undefined && !parts && !ALLOWED_WITHOUT_ROW.has(m.source)) {
        missing.push(`${m.where}: no fragment to look for in ${m.source} (add it to ALLOWED_WITHOUT_ROW if it only wraps other texts)`);
      }
      return fragment !== undefined || parts;
    };
    for (const m of messages) check(m, true);
    expect([...new Set(missing)].join('\n'), `add a row (message, cause, fix) to ${DOC}`).toBe('');
  });

  it('allows only messages that still exist', () => {
    const sources = new Set(messages.map((m) => m.source));
    for (const s of ALLOWED_WITHOUT_ROW) expect(sources, s).toContain(s);
  });
});
