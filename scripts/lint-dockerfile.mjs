#!/usr/bin/env node
/* global process, console */
// Lints a Dockerfile (default: ./Dockerfile): `npm run lint:docker [-- path]`.
//
// 1. dockerfile-utils (the validator behind the Docker language server), with every check it
//    knows raised to an error, so that a warning fails the lint too.
// 2. A few best-practice rules of hadolint (named by its codes) that the validator does not have.
//    hadolint itself is a Haskell binary and is not on the npm registry.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

const ERROR = ValidationSeverity.ERROR;
const STRICT = {
  deprecatedMaintainer: ERROR,
  directiveCasing: ERROR,
  emptyContinuationLine: ERROR,
  instructionCasing: ERROR,
  instructionCmdMultiple: ERROR,
  instructionEntrypointMultiple: ERROR,
  instructionHealthcheckMultiple: ERROR,
  instructionJSONInSingleQuotes: ERROR,
  instructionWorkdirRelative: ERROR,
};

const REQUIRED_LABELS = [
  'org.opencontainers.image.title',
  'org.opencontainers.image.description',
  'org.opencontainers.image.version',
  'org.opencontainers.image.source',
  'org.opencontainers.image.licenses',
];

/** @returns {{ line: number, rule: string, message: string }[]} */
export function lintDockerfile(content) {
  const problems = [];
  for (const d of validate(content, STRICT)) {
    problems.push({ line: d.range.start.line + 1, rule: 'dockerfile-utils', message: d.message });
  }

  const dockerfile = DockerfileParser.parse(content);
  const lineOf = (instruction) => instruction.getRange().start.line + 1;
  const stages = new Set();
  const froms = dockerfile.getFROMs();
  for (const from of froms) {
    const name = from.getImageName();
    if (name && !stages.has(name) && name !== 'scratch') {
      const tag = from.getImageTag();
      if (!tag && !from.getImageDigest()) {
        problems.push({ line: lineOf(from), rule: 'DL3006', message: `always tag the image explicitly (${name})` });
      } else if (tag === 'latest') {
        problems.push({ line: lineOf(from), rule: 'DL3007', message: 'do not use the latest tag; pin a version' });
      }
    }
    const stage = from.getBuildStage();
    if (stage) stages.add(stage);
  }

  const instructions = dockerfile.getInstructions();
  for (const ins of instructions) {
    const keyword = ins.getKeyword();
    const args = ins.getArgumentsContent() ?? '';
    if (keyword === 'ADD') {
      problems.push({ line: lineOf(ins), rule: 'DL3020', message: 'use COPY instead of ADD for files and folders' });
    }
    if ((keyword === 'CMD' || keyword === 'ENTRYPOINT') && !args.trimStart().startsWith('[')) {
      problems.push({ line: lineOf(ins), rule: 'DL3025', message: `use the JSON form of ${keyword} so that signals reach the process` });
    }
    if (keyword === 'RUN' && /\bnpm\s+(install|i)\b/.test(args)) {
      problems.push({ line: lineOf(ins), rule: 'npm-ci', message: 'use `npm ci` (lockfile-exact) instead of `npm install`' });
    }
    if (keyword === 'RUN' && /\b(curl|wget)\b[^|]*\|\s*(ba)?sh\b/.test(args)) {
      problems.push({ line: lineOf(ins), rule: 'pipe-to-shell', message: 'do not pipe downloads into a shell' });
    }
  }

  // Rules for the final (runtime) stage only.
  const lastFrom = froms.at(-1);
  if (!lastFrom) return problems;
  const finalStage = instructions.filter((ins) => lineOf(ins) >= lineOf(lastFrom));
  const users = finalStage.filter((ins) => ins.getKeyword() === 'USER');
  const user = users.at(-1)?.getArgumentsContent()?.trim();
  if (!user) {
    problems.push({ line: lineOf(lastFrom), rule: 'DL3002', message: 'the final stage must switch to a non-root USER' });
  } else if (/^(root|0)(:|$)/.test(user)) {
    problems.push({ line: lineOf(users.at(-1)), rule: 'DL3002', message: 'the last USER must not be root' });
  } else if (!/^\d+(:\d+)?$/.test(user)) {
    problems.push({ line: lineOf(users.at(-1)), rule: 'numeric-user', message: 'use a numeric UID so that Kubernetes can verify runAsNonRoot' });
  }
  if (!finalStage.some((ins) => ins.getKeyword() === 'EXPOSE')) {
    problems.push({ line: lineOf(lastFrom), rule: 'expose', message: 'the final stage should EXPOSE the listening port' });
  }
  const labels = finalStage.filter((ins) => ins.getKeyword() === 'LABEL').flatMap((ins) => ins.getProperties().map((p) => p.getName()));
  for (const label of REQUIRED_LABELS) {
    if (!labels.includes(label)) {
      problems.push({ line: lineOf(lastFrom), rule: 'oci-labels', message: `the final stage lacks LABEL ${label}` });
    }
  }
  return problems;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const path = process.argv[2] ?? 'Dockerfile';
  const problems = lintDockerfile(readFileSync(path, 'utf8'));
  for (const p of problems) console.log(`${path}:${p.line} ${p.rule}: ${p.message}`);
  if (problems.length > 0) {
    console.log(`${problems.length} problem(s) in ${path}`);
    process.exit(1);
  }
  console.log(`${path}: no problems`);
}
