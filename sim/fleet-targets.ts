// The exporter's fleet-mode targets file for a simulated fleet: credential files (0600, no trailing
// newline) and a YAML file with postgres_exporter-style auth_modules. Members that are down, hanging
// or banned are listed too: the exporter must see them fail.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Document, isMap, isSeq } from 'yaml';
import { DEFAULT_API_KEY, DEFAULT_LOGIN, DEFAULT_PASSWORD } from './index.js';
import type { SimFleet, SimFleetMember } from './fleet.js';
import type { MemberState } from './fleet-plan.js';
import type { ApiMode } from './types.js';

export interface FleetTargetsOptions {
  /** write `api_version` on every target (default false: the exporter detects it) */
  apiVersion?: boolean;
  /** default `targets.yml` */
  fileName?: string;
}

export interface FleetTargetExpectation {
  state: MemberState;
  mode: ApiMode;
  url: string;
  auth: string;
}

export interface FleetTargetsFile {
  path: string;
  /** by member name, as of writing */
  expectations: Record<string, FleetTargetExpectation>;
}

type AuthModule = { api_key_file: string } | { login: string; password_file: string };

export async function writeFleetTargetsFile(
  fleet: Pick<SimFleet, 'members' | 'distinctCredentials'>,
  dir: string,
  opts: FleetTargetsOptions = {},
): Promise<FleetTargetsFile> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const secret = async (file: string, content: string): Promise<string> => {
    const path = join(abs, file);
    await writeFile(path, content, { mode: 0o600 });
    await chmod(path, 0o600); // writeFile's mode only applies to a new file
    return path;
  };
  const modules: Record<string, AuthModule> = {};
  if (!fleet.distinctCredentials) {
    // both shared modules whatever the mix, so the file's shape does not depend on legacyEvery
    modules['fleet-key'] = { api_key_file: await secret('fleet.key', DEFAULT_API_KEY) };
    modules['fleet-login'] = { login: DEFAULT_LOGIN, password_file: await secret('fleet.pw', DEFAULT_PASSWORD) };
  }
  const authOf = async (m: SimFleetMember): Promise<string> => {
    const v3 = m.mode === 'v3';
    if (!fleet.distinctCredentials) return v3 ? 'fleet-key' : 'fleet-login';
    const name = `${m.name}-${v3 ? 'key' : 'login'}`;
    modules[name] = v3
      ? { api_key_file: await secret(`${m.name}.key`, m.apiKey ?? '') }
      : { login: m.login ?? DEFAULT_LOGIN, password_file: await secret(`${m.name}.pw`, m.password ?? '') };
    return name;
  };

  const expectations: Record<string, FleetTargetExpectation> = {};
  const targets = [];
  for (const m of fleet.members) {
    const auth = await authOf(m);
    expectations[m.name] = { state: m.state, mode: m.mode, url: m.url, auth };
    targets.push({ name: m.name, url: m.url, auth, labels: { ...m.labels }, ...(opts.apiVersion ? { api_version: m.mode } : {}) });
  }

  const doc = new Document({ auth_modules: modules, targets });
  // one line per auth module and per label set, as a person would write it
  const authNode = doc.get('auth_modules');
  if (isMap(authNode)) for (const pair of authNode.items) if (isMap(pair.value)) pair.value.flow = true;
  const targetsNode = doc.get('targets');
  if (isSeq(targetsNode)) {
    for (const t of targetsNode.items) {
      const labels = isMap(t) ? t.get('labels') : null;
      if (isMap(labels)) labels.flow = true;
    }
  }
  const path = join(abs, opts.fileName ?? 'targets.yml');
  await writeFile(path, doc.toString({ lineWidth: 0 }));
  return { path, expectations };
}
