import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiClient, AmiError, type AllowedAction, type AmiClientOptions } from '../../src/api/ami/index.js';
import { DEFAULT_AMI_USER, type Simulator } from '../../sim/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { captureLogger } from '../helpers/fixtures.js';
import { simsClosedAfterEach } from '../simulator/helpers.js';

const start = simsClosedAfterEach();
const clients: AmiClient[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const c of closers.splice(0)) await c();
});

function client(sim: Simulator, opts: Partial<AmiClientOptions> = {}): AmiClient {
  const c = new AmiClient({
    host: '127.0.0.1',
    port: sim.ami?.port as number,
    username: DEFAULT_AMI_USER.username,
    secret: DEFAULT_AMI_USER.secret,
    actionTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    keepAliveMs: 0,
    reconnect: { firstMs: 50, maxMs: 400 },
    ...opts,
  });
  clients.push(c);
  return c;
}

async function errorOf(p: Promise<unknown>): Promise<AmiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AmiError) return e;
    throw e;
  }
  throw new Error('no error');
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const actionsOf = (sim: Simulator) => sim.ami?.actions.map((a) => a.action) ?? [];

describe('AMI client against the simulator', () => {
  it('logs in with Events: off, and answers typed results equal to the truth', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    expect(c.state()).toBe('idle');
    const summary = await c.queueSummary();
    expect(c.state()).toBe('connected');
    expect(c.status()).toMatchObject({ greeting: { product: 'Asterisk', version: '11.0.0' }, logins: 1, lastError: null, until: null });
    const login = sim.ami?.actions[0];
    expect(login).toMatchObject({ action: 'Login', fields: { Username: 'exporter', Secret: '***', Events: 'off' } });
    expect(sim.ami?.sessions()).toEqual([{ id: 1, username: 'exporter', events: false, eventsSent: 0 }]);
    const truth = sim.ami?.truth().queues ?? [];
    expect(summary.map((q) => [q.queue, q.callers, q.loggedIn, q.available, q.holdTime, q.talkTime])).toEqual(
      truth.map((t) => [t.queue, t.callers, t.members.logged_in, t.members.available, t.holdTimeSeconds, t.talkTimeSeconds]),
    );
    const status = await c.queueStatus();
    expect(status.queues.map((q) => [q.queue, q.completed, q.abandoned])).toEqual(truth.map((t) => [t.queue, t.completed, t.abandoned]));
    expect((await c.coreSettings()).asteriskVersion).toBe('22.7.0');
    expect((await c.coreStatus()).processedCalls).toBe(sim.ami?.truth().core.processedCalls);
    expect(actionsOf(sim)).toEqual(['Login', 'QueueSummary', 'QueueStatus', 'CoreSettings', 'CoreStatus']);
  });

  it('accepts the "PBX Call Manager" greeting; refuses a peer that is not AMI', async () => {
    const sim = await start({ ami: { greeting: 'pbx' } });
    const c = client(sim);
    await c.ping();
    expect(c.status().greeting).toEqual({ product: 'PBX', version: '11.0.0' });
    sim.ami?.setGreeting('SSH-2.0-OpenSSH_9.6');
    const other = client(sim);
    const e = await errorOf(other.ping());
    expect(e.kind).toBe('greeting');
    expect(e.message).toContain('"SSH-2.0-OpenSSH_9.6"');
    expect(other.state()).toBe('backoff');
  });

  it('a wrong secret: auth_failed with a long pause, one login only, and the secret in no message or log line', async () => {
    const sim = await start({ ami: {} });
    const { lines, logger } = await captureLogger('debug');
    const secret = 'Wr0ng-Secret-9f3a';
    const c = client(sim, { secret, log: logger });
    const t0 = Date.now();
    const first = await errorOf(c.queueSummary());
    expect(first.kind).toBe('auth');
    expect(c.state()).toBe('auth_failed');
    const { until: pauseEnd } = c.status();
    expect(pauseEnd).toBeGreaterThanOrEqual(t0 + 30 * 60_000);
    // a poll storm meets the pause, not the PBX
    const later = await Promise.all(Array.from({ length: 20 }, () => errorOf(c.queueSummary())));
    expect(later.every((e) => e.kind === 'backoff' && /refused the AMI login/.test(e.message))).toBe(true);
    c.start();
    await sleep(200); // longer than any reconnect pause: nothing may retry by itself
    expect(sim.ami?.stats).toMatchObject({ logins: 1, failedLogins: 1, connections: 1 });
    const texts = [first.message, ...later.map((e) => e.message), c.status().lastError ?? '', ...lines];
    expect(texts.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).toContain('not logging in again for 30 min');
  });

  it('the secret is scrubbed even from what the PBX says', async () => {
    const secret = 'QueueSummary'; // a secret that the PBX's own words contain
    const sim = await start({ ami: { users: [{ username: 'u', secret, write: [] }] } });
    const c = client(sim, { username: 'u', secret });
    const e = await errorOf(c.coreStatus());
    expect(e.kind).toBe('permission');
    sim.ami?.fault({ kind: 'hang', action: 'QueueSummary' });
    const t = await errorOf(client(sim, { username: 'u', secret, actionTimeoutMs: 100 }).queueSummary());
    expect(t.kind).toBe('timeout');
    expect(t.message).not.toContain(secret);
    expect(t.message).toContain('***');
  });

  it('"Permission denied" names the write permission to grant and keeps the session', async () => {
    const sim = await start({ ami: { users: [{ username: 'bare', secret: 'secret-00', write: [] }] } });
    const c = client(sim, { username: 'bare', secret: 'secret-00' });
    const e = await errorOf(c.coreStatus());
    expect(e).toMatchObject({ kind: 'permission', action: 'CoreStatus' });
    expect(e.message).toContain('write permission "reporting" (or "system")');
    expect((await c.queueSummary()).length).toBeGreaterThan(0);
    expect(c.status().logins).toBe(1);
  });

  it('a dropped connection: back-off, then a reconnect by itself', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    await c.ping();
    sim.ami?.dropConnections();
    await until(() => c.state() === 'backoff');
    expect((await errorOf(c.ping())).kind).toBe('backoff');
    await until(() => c.state() === 'connected');
    await c.ping();
    expect(sim.ami?.stats.logins).toBe(2);
  });

  it('reconnect pauses double while the PBX keeps hanging up, and start afresh once it works', async () => {
    const sim = await start({ ami: {} });
    const { lines, logger } = await captureLogger('debug');
    const c = client(sim, { log: logger });
    sim.ami?.fault({ kind: 'drop', action: 'Login', count: 3 });
    c.start();
    await until(() => c.state() === 'connected', 5000);
    const pauses = lines.map((l) => /reconnecting in ([\d.]+) s/.exec(l)?.[1]).filter((x) => x !== undefined);
    expect(pauses).toEqual(['0.05', '0.1', '0.2']);
    await c.ping();
    sim.ami?.dropConnections();
    await until(() => c.state() === 'backoff');
    expect((c.status().until ?? 0) - Date.now()).toBeLessThanOrEqual(50);
  });

  it('per-action timeout: a hung action fails on time, the connection is replaced', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim, { actionTimeoutMs: 300 });
    await c.ping();
    sim.ami?.fault({ kind: 'hang', action: 'QueueStatus', count: 1 });
    const t0 = Date.now();
    const e = await errorOf(c.queueStatus());
    expect(e.kind).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(c.state()).toBe('backoff');
    await until(() => c.state() === 'connected');
    expect((await c.queueStatus()).queues.length).toBeGreaterThan(0);
  });

  it('one action at a time: concurrent calls are sent in order, each after the answer to the previous', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    await c.ping();
    sim.ami?.fault({ kind: 'delay', action: 'QueueSummary', count: 1, delayMs: 200 });
    const done: string[] = [];
    const track = <T>(name: string, p: Promise<T>) => p.then(() => done.push(name));
    await Promise.all([track('summary', c.queueSummary()), track('status', c.queueStatus()), track('ping', c.ping()), track('core', c.coreStatus())]);
    expect(done).toEqual(['summary', 'status', 'ping', 'core']);
    const acts = sim.ami?.actions.slice(2) ?? [];
    expect(acts.map((a) => a.action)).toEqual(['QueueSummary', 'QueueStatus', 'Ping', 'CoreStatus']);
    expect((acts[1]?.time ?? 0) - (acts[0]?.time ?? 0)).toBeGreaterThanOrEqual(195);
    expect(new Set(acts.map((a) => a.actionId)).size).toBe(4);
  });

  it('QueueReset, and anything off the allowlist, is refused before a byte is written', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    for (const action of ['QueueReset', 'QueueReload', 'Command', 'queuesummary', 'Originate', 'Login', 'Logoff']) {
      const e = await errorOf(c.request(action as AllowedAction));
      expect(e.kind).toBe('not-allowed');
    }
    expect(sim.ami?.stats.connections).toBe(0);
    await c.ping();
    await errorOf(c.request('QueueReset' as AllowedAction));
    expect(actionsOf(sim)).toEqual(['Login', 'Ping']);
    // and a value cannot smuggle one in
    expect((await errorOf(c.request('QueueStatus', { Queue: 'x\r\n\r\nAction: QueueReset' }))).kind).toBe('not-allowed');
    expect(actionsOf(sim)).toEqual(['Login', 'Ping']);
  });

  it('garbage or an endless frame drops the connection with a clear error', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    await c.ping();
    sim.ami?.fault({ kind: 'garbage', action: 'Ping', count: 1 });
    expect((await errorOf(c.ping())).message).toMatch(/garbage on the AMI connection/);
    await until(() => c.state() === 'connected');
    sim.ami?.fault({ kind: 'oversize', action: 'Ping', count: 1 });
    expect((await errorOf(c.ping())).message).toMatch(/frame larger than 64 KiB/);
  });

  it('keeps an idle connection alive with Ping', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim, { keepAliveMs: 80 });
    await c.queueSummary();
    await sleep(300);
    expect(actionsOf(sim).filter((a) => a === 'Ping').length).toBeGreaterThanOrEqual(2);
    expect(sim.ami?.stats.connections).toBe(1);
  });

  it('close(): Logoff, then nothing more', async () => {
    const sim = await start({ ami: {} });
    const c = client(sim);
    await c.ping();
    await c.close();
    expect(actionsOf(sim)).toEqual(['Login', 'Ping', 'Logoff']);
    expect(c.state()).toBe('closed');
    expect((await errorOf(c.ping())).kind).toBe('closed');
    await until(() => sim.ami?.sessions().length === 0);
  });

  it('connect failures (nothing listening) back off too', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const c = new AmiClient({ host: '127.0.0.1', port, username: 'u', secret: 'secret-x', reconnect: { firstMs: 5000, maxMs: 5000 }, keepAliveMs: 0 });
    clients.push(c);
    const e = await errorOf(c.ping());
    expect(e.kind).toBe('network');
    expect(e.message).toContain('connection refused');
    expect(c.state()).toBe('backoff');
    expect((await errorOf(c.ping())).message).toMatch(/reconnecting to AMI in \d+ s/);
  });

  it('TLS (Asterisk tlsenable): verified against an extra CA, refused without it', async () => {
    const sim = await start({ ami: {} });
    const pki = makeTestPki();
    // A TLS front for the simulator's plain AMI port.
    const front = tls.createServer({ cert: pki.serverCert, key: pki.serverKey }, (s) => {
      const back = net.connect({ port: sim.ami?.port as number, host: '127.0.0.1' });
      s.pipe(back).pipe(s);
      s.on('error', () => back.destroy());
      back.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => front.close(() => r())));
    const port = (front.address() as net.AddressInfo).port;
    const good = client(sim, { port, tls: { ca: pki.caCert } });
    expect((await good.queueSummary()).length).toBeGreaterThan(0);
    const bad = client(sim, { port, tls: {} });
    const e = await errorOf(bad.ping());
    expect(e.kind).toBe('tls');
    const skip = client(sim, { port, tls: { insecureSkipVerify: true } });
    await skip.ping();
    expect(sim.ami?.stats.logins).toBe(2);
  });
});
