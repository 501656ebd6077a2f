// End-to-end proof of issue 5: simulator → exporter (child process) → Prometheus with the rules
// → Alertmanager (the shipped example routing) → a webhook receiver in this test, all on 127.0.0.1.
// The simulator speaks AMI too, with a queue nobody answers: its alerts page as well (issue 15).
//
// Time mapping: the rules are loaded from prometheus/alerts.yml with every `for:` and
// `keep_firing_for:` divided by 60 (minutes become seconds: for 2m → 2s, keep_firing_for 5m → 5s);
// expressions, thresholds and range windows are unchanged. Scrape and rule evaluation every 1 s,
// exporter polls every 1 s, Alertmanager group_wait/group_interval 1 s.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ProviderTruth, Simulator } from '../../sim/index.js';
import { describeOutcomes, loadDashboard, runDashboardQueries, type QueryOutcome } from '../helpers/dashboard.js';
import {
  freePort,
  locateTools,
  ManagedProcess,
  promQuery,
  resultSize,
  startAlertmanager,
  startPrometheus,
  titled,
  waitFor,
  type RunningServer,
} from '../helpers/prometheus-tools.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const distMain = join(root, 'dist', 'main.js');
const simulatorSource = join(root, 'sim', 'index.ts');
const nodeBin = existsSync(join(root, 'node_modules', '.bin', 'node')) ? join(root, 'node_modules', '.bin', 'node') : process.execPath;

const tools = locateTools('prometheus', 'alertmanager');
const missing = [
  ...(existsSync(distMain) ? [] : ['dist/main.js (run npm run build)']),
  ...(existsSync(simulatorSource) ? [] : ['the MikoPBX simulator (sim/index.ts)']),
];
const skipReason = tools.skipReason ?? (missing.length > 0 ? `not available: ${missing.join(', ')}` : undefined);
if (skipReason && !tools.skipReason) console.warn(`SKIPPED e2e alerting: ${skipReason}`);

// ---------------------------------------------------------------- shortened rules

function seconds(d: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * (units[m[2] as string] as number);
  return total;
}

interface RuleDoc {
  groups: { name: string; interval?: string; rules: { alert?: string; for?: string; keep_firing_for?: string }[] }[];
}

/** prometheus/alerts.yml with for/keep_firing_for divided by 60 (at least 1 s). */
export function shortenedRules(yamlText: string): string {
  const doc = parse(yamlText) as RuleDoc;
  for (const g of doc.groups) {
    delete g.interval;
    for (const r of g.rules) {
      if (r.for) r.for = `${Math.max(1, Math.round(seconds(r.for) / 60))}s`;
      if (r.keep_firing_for) r.keep_firing_for = `${Math.max(1, Math.round(seconds(r.keep_firing_for) / 60))}s`;
    }
  }
  return stringify(doc);
}

/** The shipped example alertmanager.yml, receivers pointed at the test's webhook, timings shortened. */
function testAlertmanagerConfig(webhookBase: string): string {
  const doc = parse(readFileSync(join(root, 'prometheus', 'alertmanager.yml'), 'utf8')) as {
    route: Record<string, unknown>;
    receivers: { name: string; webhook_configs?: { url: string }[] }[];
  };
  Object.assign(doc.route, { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' });
  for (const r of doc.receivers) for (const w of r.webhook_configs ?? []) w.url = `${webhookBase}/${r.name}`;
  return stringify(doc);
}

// ---------------------------------------------------------------- webhook receiver

interface AmAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Notification {
  receiver: string;
  path: string;
  status: string;
  alerts: AmAlert[];
}

// ---------------------------------------------------------------- simulator
// Loaded with a dynamic import at run time, so that the suite skips by name where it is absent.
type SimulatorModule = typeof import('../../sim/index.js');

// ---------------------------------------------------------------- the test

describe(titled('e2e: trunk rejected and a queue nobody answers in the simulator page through Prometheus and Alertmanager', skipReason), () => {
  let sim: Simulator | undefined;
  let exporter: ManagedProcess | undefined;
  let prom: RunningServer | undefined;
  let am: RunningServer | undefined;
  let webhook: Server | undefined;
  let exporterInstance = '';
  let nightQueue = '';
  let callTimer: NodeJS.Timeout | undefined;
  const notifications: Notification[] = [];

  const diagnostics = (): string =>
    [exporter?.tail(15), prom?.proc.tail(15), am?.proc.tail(15), `--- webhook notifications ---\n${JSON.stringify(notifications, null, 1).slice(-4000)}`].join(
      '\n',
    );

  beforeAll(async () => {
    if (skipReason) return;
    const simMod: SimulatorModule = await import('../../sim/index.js');
    // No rate limiter: the exporter polls every second here (the ban logic is tested elsewhere).
    // With AMI: call queues and Asterisk for the queues and asterisk collectors.
    sim = await simMod.startSimulator({ host: '127.0.0.1', port: 0, mode: 'v3', seed: 5, living: false, rateLimit: false, ami: {} });

    // Webhook receiver: Alertmanager POSTs to /<receiver name>.
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          const n = JSON.parse(body) as Omit<Notification, 'path'>;
          notifications.push({ ...n, path: req.url ?? '' });
        } catch {
          // not JSON: ignore
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => webhook?.listen(0, '127.0.0.1', r));
    const webhookBase = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}`;

    // PBX health the system collector reads at its first poll: a disk 97 % full, a clock 2 min ahead.
    sim.model.health.setDiskUsage(51200, 49664);
    sim.model.health.setClockSkew(120);
    sim.model.health.addAdvice('error', 'adv_StorageDiskRunningOutOfFreeSpace', { free: 420 });
    sim.model.health.addAdvice('info', 'adv_AvailableNewVersionPBX', { url: 'https://www.mikopbx.com', ver: '2026.2.118' });
    sim.model.health.enableS3(2048);
    sim.model.health.banIp('203.0.113.7', 'asterisk_security_log');
    // A queue whose only member's phone is off, with a caller waiting for 7 minutes already.
    const ami = sim.ami as NonNullable<Simulator['ami']>;
    const member = sim.model.extensions()[0]?.number as string;
    nightQueue = ami.addQueue({ name: 'Night line', members: [member] }).id;
    ami.setMemberStatus(nightQueue, member, 'unavailable');
    ami.addCaller(nightQueue, { waitedMs: 420_000, patienceMs: 3_600_000 });

    // The exporter, as users run it.
    const exporterPort = await freePort();
    exporterInstance = `127.0.0.1:${exporterPort}`;
    exporter = new ManagedProcess('exporter', nodeBin, [distMain], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        MIKOPBX_URL: sim.url,
        MIKOPBX_API_KEY: simMod.DEFAULT_API_KEY,
        POLL_INTERVAL_SECONDS: '1',
        CDR_POLL_INTERVAL_SECONDS: '1',
        MIKOPBX_MAX_REQUESTS_PER_MINUTE: '600',
        LISTEN_ADDRESS: '127.0.0.1',
        LISTEN_PORT: String(exporterPort),
        LOG_LEVEL: 'info',
        MIKOPBX_AMI_USER: simMod.DEFAULT_AMI_USER.username,
        MIKOPBX_AMI_PASSWORD: simMod.DEFAULT_AMI_USER.secret,
        MIKOPBX_AMI_HOST: (sim.ami as NonNullable<Simulator['ami']>).host,
        MIKOPBX_AMI_PORT: String((sim.ami as NonNullable<Simulator['ami']>).port),
        QUEUE_MEMBER_DETAILS: 'true',
      },
    });
    await waitFor(
      'exporter /readyz',
      async () => {
        if (exporter?.exited) throw new Error(`exporter exited\n${exporter.tail()}`);
        const r = await fetch(`http://${exporterInstance}/readyz`, { signal: AbortSignal.timeout(2000) });
        return r.status === 200 ? true : undefined;
      },
      30_000,
    );

    // Completed calls after the exporter's start (CDR counts from then on), and calls in progress.
    const makeCalls = (): void => {
      sim?.model.generateCalls(15);
      sim?.model.startCall('inbound', { durationMs: 4000 });
      sim?.model.startCall('outbound', { durationMs: 6000 });
    };
    makeCalls();
    callTimer = setInterval(makeCalls, 3000);

    am = await startAlertmanager({ binary: tools.paths.alertmanager as string, configYaml: testAlertmanagerConfig(webhookBase) });
    prom = await startPrometheus({
      binary: tools.paths.prometheus as string,
      extraFiles: { 'alerts.yml': shortenedRules(readFileSync(join(root, 'prometheus', 'alerts.yml'), 'utf8')) },
      args: ['--rules.alert.resend-delay=1s'],
      configYaml: stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: ['alerts.yml'],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${am.port}`] }] }] },
        scrape_configs: [{ job_name: 'mikopbx', static_configs: [{ targets: [exporterInstance] }] }],
      }),
    });
    const url = prom.url;
    await waitFor(
      'Prometheus to see mikopbx_up == 1 from the exporter',
      async () => {
        const r = await promQuery(url, 'mikopbx_up{job="mikopbx"} == 1');
        return resultSize(r) > 0 ? true : undefined;
      },
      30_000,
    );
  }, 120_000);

  afterAll(async () => {
    if (callTimer) clearInterval(callTimer);
    await prom?.stop();
    await am?.stop();
    await exporter?.stop();
    await sim?.close();
    await new Promise<void>((r) => (webhook ? webhook.close(() => r()) : r()));
  });

  const findAlert = (provider: string, status: 'firing' | 'resolved'): { n: Notification; a: AmAlert } | undefined => {
    for (const n of notifications) {
      for (const a of n.alerts) {
        if (a.labels.alertname === 'MikoPBXTrunkUnregistered' && a.labels.provider === provider && a.status === status) return { n, a };
      }
    }
    return undefined;
  };

  let trunkId = '';
  let trunk: ProviderTruth | undefined;

  it.skipIf(skipReason)(
    'pages MikoPBXTrunkUnregistered with the trunk name when a trunk is rejected',
    async () => {
      const s = sim as Simulator;
      const candidates = Object.entries(s.model.truth().providers).filter(([, p]) => p.state === 'registered' && p.name !== '');
      expect(candidates.length, 'a registered trunk in the simulator').toBeGreaterThan(0);
      [trunkId, trunk] = candidates[0] as [string, ProviderTruth];
      expect(findAlert(trunkId, 'firing'), 'no alert before the trunk is rejected').toBeUndefined();

      s.model.setProviderState(trunkId, 'rejected');
      const got = await waitFor(`MikoPBXTrunkUnregistered for ${trunkId} at the webhook`, async () => findAlert(trunkId, 'firing'), 60_000, 250).catch(
        (err: unknown) => {
          throw new Error(`${String(err)}\n${diagnostics()}`, { cause: err });
        },
      );
      // Routed as critical to the pager receiver of the example alertmanager.yml.
      expect(got.n.receiver).toBe('pager');
      expect(got.n.path).toBe('/pager');
      expect(got.a.labels).toMatchObject({
        alertname: 'MikoPBXTrunkUnregistered',
        severity: 'critical',
        provider: trunkId,
        name: trunk?.name,
        job: 'mikopbx',
        instance: exporterInstance,
      });
      expect(got.a.annotations.description).toContain(`Trunk "${trunk?.name}" (${trunkId}`);
      expect(got.a.annotations.description).toContain('(state: rejected)');
      expect(got.a.annotations.summary).toBe('A MikoPBX trunk is not registered.');
      expect(got.a.annotations.runbook_url).toMatch(/docs\/runbook\.md#mikopbxtrunkunregistered$/);
    },
    90_000,
  );

  it.skipIf(skipReason)(
    'sends the resolution after the trunk is registered again',
    async () => {
      expect(trunkId, 'previous test picked a trunk').not.toBe('');
      (sim as Simulator).model.setProviderState(trunkId, 'registered');
      const got = await waitFor(`resolved MikoPBXTrunkUnregistered for ${trunkId}`, async () => findAlert(trunkId, 'resolved'), 60_000, 250).catch(
        (err: unknown) => {
          throw new Error(`${String(err)}\n${diagnostics()}`, { cause: err });
        },
      );
      expect(got.a.labels.name).toBe(trunk?.name);
      expect(got.n.receiver).toBe('pager');
      // Disabled trunks of the simulator never paged meanwhile.
      const off = Object.entries((sim as Simulator).model.truth().providers)
        .filter(([, p]) => p.state === 'off')
        .map(([id]) => id);
      const pagedOff = notifications.flatMap((n) => n.alerts).filter((a) => off.includes(a.labels.provider ?? ''));
      expect(pagedOff).toEqual([]);
    },
    90_000,
  );

  it.skipIf(skipReason)(
    'pages MikoPBXStorageCritical and MikoPBXClockSkew from the system collector',
    async () => {
      const paged = (name: string) =>
        notifications.flatMap((n) => n.alerts.map((a) => ({ n, a }))).find(({ a }) => a.labels.alertname === name && a.status === 'firing');
      for (const name of ['MikoPBXStorageCritical', 'MikoPBXClockSkew']) {
        const got = await waitFor(`${name} at the webhook`, async () => paged(name), 60_000, 250).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${diagnostics()}`, { cause: err });
        });
        expect(got.a.labels).toMatchObject({ alertname: name, job: 'mikopbx', instance: exporterInstance });
      }
      expect(paged('MikoPBXClockSkew')?.a.annotations.description).toMatch(/by 12\d s \(positive: the PBX is ahead\)/);
      // Critical, not also the warning: the two storage alerts exclude each other.
      expect(paged('MikoPBXStorageLow')).toBeUndefined();
    },
    90_000,
  );

  it.skipIf(skipReason)(
    'pages MikoPBXQueueNoAgentAvailable and MikoPBXQueueLongWait from AMI, with the queue name',
    async () => {
      const paged = (name: string) =>
        notifications
          .flatMap((n) => n.alerts.map((a) => ({ n, a })))
          .find(({ a }) => a.labels.alertname === name && a.labels.queue === nightQueue && a.status === 'firing');
      for (const name of ['MikoPBXQueueNoAgentAvailable', 'MikoPBXQueueLongWait']) {
        const got = await waitFor(`${name} at the webhook`, async () => paged(name), 60_000, 250).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${diagnostics()}`, { cause: err });
        });
        expect(got.a.labels).toMatchObject({ alertname: name, queue: nightQueue, name: 'Night line', job: 'mikopbx', instance: exporterInstance });
      }
      const noAgent = paged('MikoPBXQueueNoAgentAvailable');
      expect(noAgent?.n.receiver).toBe('pager');
      expect(noAgent?.a.annotations.description).toContain(`1 caller(s) wait in queue "Night line" (${nightQueue})`);
      expect(noAgent?.a.annotations.description).toContain('(members logged in: 0)');
      // The seeded queues have members free and nobody waiting; the session is up.
      const others = notifications.flatMap((n) => n.alerts).filter((a) => a.labels.queue !== undefined && a.labels.queue !== nightQueue);
      expect(others).toEqual([]);
      expect(notifications.flatMap((n) => n.alerts).filter((a) => a.labels.alertname === 'MikoPBXAmiDown')).toEqual([]);
    },
    90_000,
  );

  let outcomes: QueryOutcome[] = [];

  it.skipIf(skipReason)(
    'runs every dashboard panel query without an error',
    async () => {
      outcomes = await runDashboardQueries(
        (prom as RunningServer).url,
        loadDashboard(),
        {
          job: 'mikopbx',
          instance: exporterInstance,
          rateInterval: '1m',
          interval: '15s',
          range: '5m',
        },
        60,
      );
      expect(outcomes.length).toBeGreaterThan(30);
      const failed = outcomes.filter((o) => o.error);
      expect(describeOutcomes(failed)).toBe('');
    },
    60_000,
  );

  it.skipIf(skipReason)('gets data for the extensions, trunks, calls-in-progress and PBX health panels', () => {
    const truth = (sim as Simulator).model.truth();
    const offline = (truth.extensions.unavailable ?? 0) + (truth.extensions.unknown ?? 0);
    const empty = outcomes
      .filter((o) => ['extensions', 'trunks', 'calls', 'system'].includes(o.area) && o.series === 0)
      // An empty offline table is right when every extension is available.
      .filter((o) => !(o.panel.title === 'Offline extensions' && offline === 0));
    expect(describeOutcomes(empty)).toBe('');
    const trunksTable = outcomes.find((o) => o.panel.title === 'Trunks' && o.target.refId === 'A');
    expect(trunksTable?.series).toBe(Object.keys(truth.providers).length);
  });

  it.skipIf(skipReason)('gets data for the queue panels', () => {
    const queues = outcomes.filter((o) => o.area === 'queues');
    expect(queues.length).toBeGreaterThan(15);
    const empty = queues.filter((o) => o.series === 0);
    expect(describeOutcomes(empty)).toBe('');
    const session = outcomes.find((o) => o.panel.title === 'AMI session');
    expect(session?.numeric).toBe(1);
  });

  it.skipIf(skipReason)('gets data for the CDR panels', async () => {
    const cdr = outcomes.filter((o) => o.area === 'cdr');
    expect(cdr.length).toBeGreaterThan(5);
    // Completed calls come from the cdr collector (issue 3), exported from its first poll (contract §4).
    const r = await promQuery((prom as RunningServer).url, 'mikopbx_calls_total{job="mikopbx"}');
    expect(resultSize(r)).toBeGreaterThan(0);
    const empty = cdr.filter((o) => o.series === 0);
    expect(describeOutcomes(empty)).toBe('');
  });
});
