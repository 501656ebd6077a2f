#!/usr/bin/env node
/* global process, console, URL */
// One-line mutation pass over src/ (npm run mutate; on demand, never in CI): applies each mutant
// below, runs the test files expected to kill it (vitest --bail 1), restores the file and prints
// killed/survived. A mutant is found by its code text anywhere in src/ (exactly once), not by file
// and line, so moving code between files does not break the list.
//
//   npm run mutate                  every mutant
//   npm run mutate -- M3 M18        only these
//   npm run mutate -- --all-tests   each mutant against the whole vitest suite (slow)
//
// The mutated file is restored on every exit path (error, Ctrl-C, SIGTERM); a pass killed with
// SIGKILL leaves a backup that the next run puts back before doing anything else.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BACKUP_DIR = join(ROOT, 'node_modules', '.cache', 'mutate');
const BACKUP = join(BACKUP_DIR, 'backup.json');

/**
 * `find` → `replace` is the mutation; `also` lists further edits made with it (one behaviour held
 * in two places); `killedBy` the test files that must fail with it in place.
 * @type {{ id: string; what: string; find: string; replace: string; also?: { find: string; replace: string }[]; killedBy: string[] }[]}
 */
const MUTANTS = [
  {
    id: 'M3',
    what: 'mikopbx_up ignores an active ban',
    find: 'this.health.up.set(this.apiAnswered && !banned ? 1 : 0);',
    replace: 'this.health.up.set(this.apiAnswered ? 1 : 0);',
    killedBy: ['test/unit/target.test.ts'],
  },
  {
    id: 'M5',
    what: 'no " escaping in label values',
    find: ".replace(/\\n/g, '\\\\n').replace(/\"/g, '\\\\\"')",
    replace: ".replace(/\\n/g, '\\\\n')",
    killedBy: ['test/unit/exposition.test.ts', 'test/unit/target.test.ts'],
  },
  {
    id: 'M6',
    what: 'back-off does not double',
    find: 'Math.min(prev.lastPauseMs * 2, p.maxMs)',
    replace: 'Math.min(prev.lastPauseMs, p.maxMs)',
    killedBy: ['test/faults/backoff.test.ts', 'test/unit/transport.test.ts'],
  },
  {
    id: 'M7',
    what: 'base64 form of secrets not scrubbed',
    find: ", Buffer.from(s).toString('base64')]",
    replace: ']',
    killedBy: ['test/unit/scrubber.test.ts'],
  },
  {
    id: 'M8',
    what: 'request budget never counts',
    find: 'this.sent.push(this.now());',
    replace: '',
    killedBy: ['test/unit/transport.test.ts', 'test/faults/backoff.test.ts'],
  },
  {
    id: 'M10',
    what: 'legacy NNN-WS merge: last wins',
    find: 'if (!prev || rank[mapped.status] > rank[prev.status]) byNumber.set(number, mapped);',
    replace: 'byNumber.set(number, mapped);',
    killedBy: ['test/unit/legacy-parse.test.ts'],
  },
  {
    id: 'M12',
    what: 'follow redirects (would carry the key away)',
    find: 'followRedirect: false,',
    replace: 'followRedirect: true,',
    killedBy: ['test/faults/pitfalls.test.ts'],
  },
  {
    id: 'M13',
    what: 'legacy login failure not reused within the poll',
    find: 'if (failed && failed.poll !== Infinity && failed.poll === this.transport.pollDeadline()) return Promise.reject(failed.error);',
    replace: 'void failed;',
    killedBy: ['test/unit/legacy-target.test.ts'],
  },
  {
    id: 'M14',
    what: 'an extension listed twice counted twice',
    find: 'if (seen.has(e.number)) continue;',
    replace: '',
    killedBy: ['test/unit/target.test.ts'],
  },
  {
    id: 'M15',
    what: 'trunk endpoints counted as live extensions',
    find: 'if (!trunks.providerOfChannel(ch)) liveExtensions.add(ep);',
    replace: 'liveExtensions.add(ep);',
    killedBy: ['test/unit/calls.test.ts', 'test/unit/legacy-target.test.ts'],
  },
  {
    id: 'M16',
    what: 'v3 result:false with HTTP 200 accepted',
    find: 'if (body.result !== true) {\n    const detail = messagesText(body);',
    replace: 'if (body.result === false && body.result !== false) {\n    const detail = messagesText(body);',
    killedBy: ['test/unit/envelope.test.ts'],
  },
  {
    id: 'M18',
    what: 'requests no longer queued one at a time',
    find: 'const run = this.queue.then(() => this.sendNow(spec, maxBudgetWaitMs, deadline));',
    replace: 'const run = this.sendNow(spec, maxBudgetWaitMs, deadline);',
    killedBy: ['test/unit/target.test.ts'],
  },
  {
    id: 'M18b',
    what: 'no request queue and parallel sockets (the wire sees two requests at once)',
    find: 'const run = this.queue.then(() => this.sendNow(spec, maxBudgetWaitMs, deadline));',
    replace: 'const run = this.sendNow(spec, maxBudgetWaitMs, deadline);',
    also: [{ find: 'http: new http.Agent({ keepAlive: true, maxSockets: 1 }),', replace: 'http: new http.Agent({ keepAlive: true }),' }],
    killedBy: ['test/unit/target.test.ts'],
  },
];

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The one file holding `find` exactly once; an error naming the mutant otherwise. */
function locate(id, find) {
  const hits = sourceFiles(join(ROOT, 'src')).flatMap((file) => {
    const n = readFileSync(file, 'utf8').split(find).length - 1;
    return n > 0 ? [{ file, n }] : [];
  });
  if (hits.length !== 1 || hits[0].n !== 1) {
    const where = hits.map((h) => `${relative(ROOT, h.file)} (${h.n}×)`).join(', ') || 'nowhere';
    throw new Error(`${id}: its code text must occur exactly once in src/, found ${where}: update the mutant in scripts/mutate.mjs`);
  }
  return hits[0].file;
}

/** A mutant's edits (the main one, then `also`), each with the file it is found in. */
function locateEdits(m) {
  return [{ find: m.find, replace: m.replace }, ...(m.also ?? [])].map((e) => ({ ...e, file: locate(m.id, e.find) }));
}

let applied = []; // [{ file, original }] while a mutant is in place

function restore() {
  for (const { file, original } of applied) writeFileSync(file, original);
  applied = [];
  rmSync(BACKUP, { force: true });
}

function restoreLeftover() {
  if (!existsSync(BACKUP)) return;
  for (const { file, original } of JSON.parse(readFileSync(BACKUP, 'utf8'))) {
    writeFileSync(file, original);
    console.log(`restored ${relative(ROOT, file)} from the backup of an interrupted pass`);
  }
  rmSync(BACKUP);
}

function apply(edits) {
  const files = [...new Set(edits.map((e) => e.file))];
  const originals = files.map((file) => ({ file, original: readFileSync(file, 'utf8') }));
  mkdirSync(BACKUP_DIR, { recursive: true });
  writeFileSync(`${BACKUP}.tmp`, JSON.stringify(originals));
  renameSync(`${BACKUP}.tmp`, BACKUP); // the backup exists before any source changes
  applied = originals;
  for (const { file, original } of originals) {
    let text = original;
    for (const e of edits.filter((x) => x.file === file)) text = text.replace(e.find, () => e.replace);
    writeFileSync(file, text);
  }
}

/** The first failed test named in vitest's output (ANSI colours stripped). */
function firstFailure(out) {
  // eslint-disable-next-line no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const line = plain.split('\n').find((l) => /^\s*FAIL\s/.test(l));
  return line ? line.replace(/^\s*FAIL\s+/, '').trim() : 'a failing run (no test named: see vitest output)';
}

let child = null;

/** Runs vitest on `files` (the whole suite when empty); resolves to its exit code. */
function vitest(files) {
  return new Promise((resolve, reject) => {
    const args = ['run', '--bail', '1', '--reporter', 'dot', ...files];
    child = spawn(join(ROOT, 'node_modules', '.bin', 'vitest'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      child = null;
      resolve({ code: code ?? (signal ? 128 : 1), out });
    });
  });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    child?.kill('SIGTERM');
    restore();
    console.log(`\ninterrupted (${signal}); source restored`);
    process.exit(130);
  });
}
process.on('exit', restore);

async function main() {
  restoreLeftover();
  const args = process.argv.slice(2);
  const allTests = args.includes('--all-tests');
  const only = args.filter((a) => !a.startsWith('--'));
  const unknown = only.filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`unknown mutant ${unknown.join(', ')}; known: ${MUTANTS.map((m) => m.id).join(' ')}`);
  const chosen = MUTANTS.filter((m) => only.length === 0 || only.includes(m.id));
  const located = chosen.map((m) => ({ m, edits: locateEdits(m) })); // every mutant found before any change

  // The unmutated code must pass the same tests, or "killed" means nothing.
  const baselineFiles = allTests ? [] : [...new Set(chosen.flatMap((m) => m.killedBy))];
  const baseline = await vitest(baselineFiles);
  if (baseline.code !== 0) {
    console.log(baseline.out);
    throw new Error('the unmutated source fails these tests: fix that first');
  }

  const rows = [];
  for (const { m, edits } of located) {
    const file = edits[0].file;
    apply(edits);
    let result;
    try {
      result = await vitest(allTests ? [] : m.killedBy);
    } finally {
      restore();
    }
    const status = result.code === 0 ? 'SURVIVED' : 'killed';
    rows.push({ id: m.id, status, file: relative(ROOT, file), what: m.what });
    console.log(`${m.id.padEnd(4)} ${status.padEnd(8)} ${relative(ROOT, file).padEnd(28)} ${m.what}`);
    if (result.code !== 0) console.log(`     by ${firstFailure(result.out)}`);
  }
  const survived = rows.filter((r) => r.status === 'SURVIVED');
  console.log(
    `\n${rows.length - survived.length} of ${rows.length} mutants killed${survived.length ? `; survived: ${survived.map((r) => r.id).join(' ')}` : ''}`,
  );
  process.exitCode = survived.length > 0 ? 1 : 0;
}

main().catch((e) => {
  restore();
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
