// The exporter with an AMI user against the simulator speaking AMI: the queues and asterisk
// collectors run beside the REST ones, a refused AMI login pauses without retrying, a REST outage
// does not fail them, and without an AMI user they are off and said so once.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AMI_USER, startSimulator, type Simulator } from '../../sim/index.js';
import { loadConfig } from '../../src/config.js';
import { startExporter, type Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log.js';
import { httpGet, sample } from '../helpers/harness.js';
import { waitFor } from '../helpers/prometheus-tools.js';

let sim: Simulator | null = null;
let exporter: Exporter | null = null;
afterEach(async () => {
  await exporter?.stop();
  await sim?.close();
  exporter = null;
  sim = null;
});

async function start(
  env: Record<string, string>,
  simOpts: Parameters<typeof startSimulator>[0] = {},
): Promise<{ lines: string[]; metrics: () => Promise<string> }> {
  sim = await startSimulator({ ami: {}, living: false, ...simOpts });
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l), secrets: [DEFAULT_AMI_USER.secret] });
  const config = loadConfig({
    MIKOPBX_URL: sim.url,
    MIKOPBX_API_KEY: sim.apiKey,
    MIKOPBX_AMI_HOST: '127.0.0.1',
    MIKOPBX_AMI_PORT: String(sim.ami?.port ?? 5038),
    POLL_INTERVAL_SECONDS: '1',
    MIKOPBX_MAX_REQUESTS_PER_MINUTE: '200',
    COLLECTORS: 'peers,providers,calls,queues,asterisk',
    LISTEN_ADDRESS: '127.0.0.1',
    LISTEN_PORT: '0',
    ...env,
  });
  exporter = await startExporter(config, logger);
  const port = exporter.port;
  return { lines, metrics: async () => (await httpGet(`http://127.0.0.1:${port}/metrics`)).text };
}

describe('queues and asterisk over AMI in the exporter', () => {
  it('exports the queues and the Asterisk core from the simulated PBX, with REST names and the PBX offset', async () => {
    const { metrics } = await start({ MIKOPBX_AMI_USER: DEFAULT_AMI_USER.username, MIKOPBX_AMI_PASSWORD: DEFAULT_AMI_USER.secret });
    const ami = sim?.ami;
    if (!ami) throw new Error('no AMI');
    const [first] = ami.truth().queues;
    if (!first) throw new Error('the simulator has no queue');
    ami.addCaller(first.queue);
    ami.addCaller(first.queue);
    const text = await waitFor(
      'queue metrics with 2 callers',
      async () => {
        const t = await metrics();
        return sample(t, `mikopbx_queue_callers{queue="${first.queue}"}`) === 2 && t.includes('mikopbx_asterisk_start_time_seconds ') ? t : undefined;
      },
      15_000,
    );
    expect(sample(text, 'mikopbx_ami_up')).toBe(1);
    expect(sample(text, 'mikopbx_ami_login_refused')).toBe(0);
    expect(text).toMatch(
      new RegExp(`^mikopbx_queue_info\\{queue="${first.queue}",name="${first.name}",extension="${first.extension}",strategy="[a-z]+"\\} 1$`, 'm'),
    );
    expect(text).toMatch(/^mikopbx_asterisk_info\{version="[^"]+"\} 1$/m);
    expect(sample(text, 'mikopbx_asterisk_start_time_seconds')).toBeCloseTo(ami.truth().core.startTimeSeconds, -1);
    expect(sample(text, 'mikopbx_collector_success{collector="queues"}')).toBe(1);
    expect(sample(text, 'mikopbx_collector_success{collector="asterisk"}')).toBe(1);
    expect(sample(text, 'mikopbx_up')).toBe(1);
    // One session, logged in once, and never a QueueReset.
    expect(ami.stats.logins).toBe(1);
    expect(ami.actions.some((a) => a.action.toLowerCase() === 'queuereset')).toBe(false);
    expect(ami.actions.every((a) => ['Login', 'Ping', 'QueueSummary', 'QueueStatus', 'CoreStatus', 'CoreSettings'].includes(a.action))).toBe(true);
  });

  it('pauses after a refused AMI login without retrying, says so, and keeps the PBX up and the password out of every line', async () => {
    const { lines, metrics } = await start({ MIKOPBX_AMI_USER: DEFAULT_AMI_USER.username, MIKOPBX_AMI_PASSWORD: 'wrong-secret-123' });
    await waitFor('the refused login', async () => (sample(await metrics(), 'mikopbx_ami_login_refused') === 1 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    const text = await metrics();
    expect(sim?.ami?.stats.failedLogins).toBe(1);
    expect(sample(text, 'mikopbx_ami_up')).toBe(0);
    expect(sample(text, 'mikopbx_ami_backoff_until_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 + 600);
    expect(sample(text, 'mikopbx_collector_success{collector="queues"}')).toBe(0);
    // REST is fine: the PBX is up.
    expect(sample(text, 'mikopbx_up')).toBe(1);
    expect(
      lines.filter((l) => /"level":"error"/.test(l) && /refused the AMI login/.test(l)),
      lines.filter((l) => /AMI/.test(l)).join('\n'),
    ).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('wrong-secret-123');
  });

  it('keeps polling AMI while the REST API is down', async () => {
    const { metrics } = await start({ MIKOPBX_AMI_USER: DEFAULT_AMI_USER.username, MIKOPBX_AMI_PASSWORD: DEFAULT_AMI_USER.secret });
    await waitFor('the first polls', async () => (sample(await metrics(), 'mikopbx_collector_success{collector="queues"}') === 1 ? true : undefined), 10_000);
    sim?.faults.hold({ kind: 'http-500' });
    const before = sim?.ami?.actions.length ?? 0;
    await waitFor('mikopbx_up 0', async () => (sample(await metrics(), 'mikopbx_up') === 0 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 2500));
    const text = await metrics();
    expect(sample(text, 'mikopbx_collector_success{collector="queues"}')).toBe(1);
    expect(sim?.ami?.actions.length).toBeGreaterThan(before + 2);
  });

  it('without an AMI user: the AMI collectors are off, said once, and /readyz does not wait for them', async () => {
    const { lines, metrics } = await start({});
    const port = exporter?.port as number;
    await waitFor('ready', async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 10_000);
    const text = await metrics();
    expect(text).not.toMatch(/^mikopbx_(queue|asterisk|ami)_/m);
    expect(text).not.toMatch(/collector="(queues|asterisk)"/);
    expect(lines.filter((l) => /queues and asterisk collectors off/.test(l))).toHaveLength(1);
    expect(sim?.ami?.stats.connections).toBe(0);
  });
});
