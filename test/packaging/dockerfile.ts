// Reads the Dockerfile into stages, for the packaging tests (dockerfile-ast does the parsing).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction, type ModifiableInstruction, type PropertyInstruction } from 'dockerfile-ast';

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface CopyStep {
  /** Build stage given with --from, or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

export interface Stage {
  image: string;
  name: string | undefined;
  args: Record<string, string>;
  env: Record<string, string>;
  labels: Record<string, string>;
  user: string | undefined;
  workdir: string | undefined;
  expose: string[];
  cmd: string[] | undefined;
  healthcheck: { flags: string[]; cmd: string[] } | undefined;
  copies: CopyStep[];
  runs: string[];
}

const unquote = (s: string | null): string => (s ?? '').replace(/^"(.*)"$/s, '$1');

function properties(ins: Instruction): [string, string][] {
  return (ins as PropertyInstruction).getProperties().map((p) => [p.getName(), unquote(p.getValue())]);
}

/** `${NAME}` and `$NAME` replaced from `vars`, as the builder does in LABEL/ENV values. */
export function expand(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

function jsonForm(ins: Instruction, text: string): string[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) throw new Error(`line ${ins.getRange().start.line + 1}: ${ins.getKeyword()} is not in JSON form`);
  return JSON.parse(trimmed) as string[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const keyword = ins.getKeyword();
    const args = ins.getArguments().map((a) => a.getValue());
    if (keyword === 'FROM') {
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({
        image: args[0] ?? '',
        name: as >= 0 ? args[as + 1] : undefined,
        args: {},
        env: {},
        labels: {},
        user: undefined,
        workdir: undefined,
        expose: [],
        cmd: undefined,
        healthcheck: undefined,
        copies: [],
        runs: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARG before the first FROM
    const vars = { ...stage.args, ...stage.env };
    switch (keyword) {
      case 'ARG':
        for (const [k, v] of properties(ins)) stage.args[k] = v;
        break;
      case 'ENV':
        for (const [k, v] of properties(ins)) stage.env[k] = expand(v, vars);
        break;
      case 'LABEL':
        for (const [k, v] of properties(ins)) stage.labels[k] = expand(v, vars);
        break;
      case 'USER':
        stage.user = args[0];
        break;
      case 'WORKDIR':
        stage.workdir = args[0];
        break;
      case 'EXPOSE':
        stage.expose.push(...args);
        break;
      case 'CMD':
        stage.cmd = jsonForm(ins, ins.getArgumentsContent() ?? '');
        break;
      case 'HEALTHCHECK': {
        const flags = (ins as ModifiableInstruction).getFlags().map((f) => f.toString());
        const content = (ins.getArgumentsContent() ?? '').trim();
        if (!content.startsWith('CMD')) throw new Error('HEALTHCHECK without CMD');
        stage.healthcheck = { flags, cmd: jsonForm(ins, content.slice(3)) };
        break;
      }
      case 'COPY': {
        const from =
          (ins as ModifiableInstruction)
            .getFlags()
            .find((f) => f.getName() === 'from')
            ?.getValue() ?? undefined;
        stage.copies.push({ from, sources: args.slice(0, -1), destination: args.at(-1) ?? '' });
        break;
      }
      case 'RUN':
        stage.runs.push(ins.getArgumentsContent() ?? '');
        break;
    }
  }
  return stages;
}

export function readDockerfile(): Stage[] {
  return parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
}

/** The last stage: what `docker build .` produces. */
export function runtimeStage(stages: Stage[]): Stage {
  const stage = stages.at(-1);
  if (!stage) throw new Error('Dockerfile has no FROM');
  return stage;
}
