#!/usr/bin/env node
// Standalone simulator: node dist-sim/sim/cli.js [--port 8088] [--legacy] [--seed N] ... [--fleet N ...]

import { parseArgs } from 'node:util';
import { startSimFleet, startSimulator, writeFleetTargetsFile } from './index.js';
import type { SimFleet, SimFleetOptions, SimulatorOptions } from './index.js';

const HELP = `MikoPBX simulator

  --port N              listen port (default 8088; 0 = random)
  --host ADDR           listen address (default 127.0.0.1)
  --legacy              speak the legacy API (MikoPBX <= 2024.x) instead of v3
  --seed N              PBX seed (default 1)
  --extensions N        SIP extensions (default 12)
  --providers N         trunks (default 4)
  --active-calls N      calls in progress at start (default 3)
  --cps X               new calls per second while living (default 0.05)
  --tick MS             living tick (default 1000)
  --static              no living: nothing changes unless driven via /__sim/
  --history N           completed calls in the CDR table at start (default 40)
  --tz MINUTES          PBX UTC offset in minutes (default 180)
  --api-key KEY         v3 Bearer key (default: the built-in DEFAULT_API_KEY)
  --login NAME          legacy admin login (default admin)
  --password PW         legacy admin password
  --localhost-bypass    let 127.0.0.1 in without credentials, like a real PBX
  --no-rate-limit       disable the nginx rate limiter
  --ami-port N          also speak AMI (queues, Asterisk core) on this TCP port (0 = random)
  --ami-greeting KIND   asterisk (default) or pbx ("PBX Call Manager/…")
  --help

Fleet: many independent PBXs in one process (seeds --seed, --seed + 1, ...; the options
above apply to every member, except the credential ones)
  --fleet N             N PBXs on ports --port ... --port + N - 1 (--port 0: random ports)
  --fleet-legacy-every K  every K-th member speaks the legacy API (default none; --legacy: all)
  --fleet-down N        N members refuse connections (N < 1: that fraction of the fleet)
  --fleet-hanging N     N members accept TCP and never answer
  --fleet-banned N      N members answer every API request with 429
  --fleet-shared-credentials  all members take the default API key and password
                        (default: each its own, derived from its seed)
  --targets-dir DIR     write the exporter's targets.yml and the credential files there
`;

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    process.stderr.write(`--${name} must be a number, got ${v}\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      legacy: { type: 'boolean' },
      seed: { type: 'string' },
      extensions: { type: 'string' },
      providers: { type: 'string' },
      'active-calls': { type: 'string' },
      cps: { type: 'string' },
      tick: { type: 'string' },
      static: { type: 'boolean' },
      history: { type: 'string' },
      tz: { type: 'string' },
      'api-key': { type: 'string' },
      login: { type: 'string' },
      password: { type: 'string' },
      'localhost-bypass': { type: 'boolean' },
      'no-rate-limit': { type: 'boolean' },
      fleet: { type: 'string' },
      'fleet-legacy-every': { type: 'string' },
      'fleet-down': { type: 'string' },
      'fleet-hanging': { type: 'string' },
      'fleet-banned': { type: 'string' },
      'fleet-shared-credentials': { type: 'boolean' },
      'targets-dir': { type: 'string' },
      'ami-port': { type: 'string' },
      'ami-greeting': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const opts: SimulatorOptions = {
    port: num(values.port, 'port') ?? 8088,
    host: values.host ?? '127.0.0.1',
    mode: values.legacy ? 'legacy' : 'v3',
    living: values.static ? false : { tickMs: num(values.tick, 'tick') ?? 1000 },
    localhostBypass: values['localhost-bypass'] ?? false,
  };
  const optional: [keyof SimulatorOptions, number | string | undefined][] = [
    ['seed', num(values.seed, 'seed')],
    ['extensions', num(values.extensions, 'extensions')],
    ['providers', num(values.providers, 'providers')],
    ['activeCalls', num(values['active-calls'], 'active-calls')],
    ['cdrCallsPerSecond', num(values.cps, 'cps')],
    ['historyCalls', num(values.history, 'history')],
    ['tzOffsetMinutes', num(values.tz, 'tz')],
    ['apiKey', values['api-key']],
    ['login', values.login],
    ['password', values.password],
  ];
  for (const [k, v] of optional) if (v !== undefined) Object.assign(opts, { [k]: v });
  if (values['no-rate-limit']) opts.rateLimit = false;
  const amiPort = num(values['ami-port'], 'ami-port');
  if (amiPort !== undefined) opts.ami = { port: amiPort, ...(values['ami-greeting'] === 'pbx' ? { greeting: 'pbx' } : {}) };

  if (values.fleet !== undefined) {
    for (const flag of ['api-key', 'login', 'password', 'localhost-bypass'] as const) {
      if (values[flag] !== undefined) fail(`--${flag} does not apply to --fleet (each member has its own credentials, see --fleet-shared-credentials)`);
    }
    const count = num(values.fleet, 'fleet') as number;
    if (!(Number.isInteger(count) && count >= 1)) fail(`--fleet must be a positive integer, got ${values.fleet}`);
    const { seed, host: _host, mode: _mode, apiKey: _key, login: _login, password: _pw, localhostBypass: _bypass, ...shared } = opts;
    const selected = (flag: 'fleet-down' | 'fleet-hanging' | 'fleet-banned'): number | undefined => {
      const n = num(values[flag], flag);
      if (n === undefined || n < 1) return n; // a fraction (or nothing)
      if (!Number.isInteger(n) || n > count) fail(`--${flag} must be a count up to ${count} or a fraction below 1, got ${n}`);
      return n / count;
    };
    await runFleet(
      {
        ...shared,
        count,
        ...(seed !== undefined ? { seedBase: seed } : {}),
        legacyEvery: num(values['fleet-legacy-every'], 'fleet-legacy-every') ?? (values.legacy ? 1 : 0),
        down: selected('fleet-down'),
        hanging: selected('fleet-hanging'),
        banned: selected('fleet-banned'),
        distinctCredentials: !values['fleet-shared-credentials'],
      },
      values['targets-dir'],
    );
    return;
  }

  const sim = await startSimulator(opts);
  const lines = [
    `MikoPBX simulator (${sim.mode}) listening on ${sim.url}`,
    sim.mode === 'v3'
      ? `  API key (Authorization: Bearer): ${sim.apiKey}`
      : `  admin login: ${sim.login} / ${sim.password}  (POST ${sim.url}/admin-cabinet/session/start)`,
    `  legacy login for a runtime switch: ${sim.login} / ${sim.password}`,
    `  ground truth: ${sim.url}/__sim/truth   control API: ${sim.url}/__sim/...`,
    ...(sim.ami
      ? [
          `  AMI on ${sim.ami.host}:${sim.ami.port}: ${sim.ami.users.map((u) => `${u.username} / ${u.secret} (write=${u.write.join(',')})`).join('; ')}   truth: ${sim.url}/__sim/ami/truth`,
        ]
      : []),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function runFleet(opts: SimFleetOptions, targetsDir: string | undefined): Promise<void> {
  const started = performance.now();
  let fleet: SimFleet;
  try {
    fleet = await startSimFleet(opts);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  const ms = performance.now() - started;
  const width = Math.max(...fleet.members.map((m) => m.name.length));
  const lines = fleet.members.map((m) => {
    const secret = m.mode === 'v3' ? `key ${m.apiKey ?? ''}` : `login ${m.login ?? ''} / ${m.password ?? ''}`;
    return `${m.name.padEnd(width)}  ${m.url}  ${m.mode.padEnd(6)}  ${m.state.padEnd(7)}  ${secret}`;
  });
  const count = (pred: (m: SimFleet['members'][number]) => boolean): number => fleet.members.filter(pred).length;
  const states = ['up', 'down', 'hanging', 'banned'].map((st) => `${count((m) => m.state === st)} ${st}`).join(', ');
  lines.push(
    `MikoPBX simulator fleet: ${fleet.members.length} PBXs (${count((m) => m.mode === 'v3')} v3, ${count((m) => m.mode === 'legacy')} legacy; ${states})`,
    `  started in ${(ms / 1000).toFixed(2)} s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB; ground truth: <url>/__sim/truth`,
  );
  if (targetsDir !== undefined) lines.push(`  targets file: ${(await writeFleetTargetsFile(fleet, targetsDir)).path}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = (): void => {
    fleet.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
