import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { AmiClient } from './api/ami/index.js';
import { BACKOFF_REASONS } from './api/backoff.js';
import type { PbxApi } from './api/pbx-api.js';
import { PbxApiError } from './api/errors.js';
import { Transport, type RequestGateLike } from './api/transport.js';
import type { Collector, TargetSnapshot } from './collectors/collector.js';
import { AMI_COLLECTORS, collectorSpec, OWN_SCHEDULE, STATUS_ORDER, type CollectorName, type ScheduleName } from './collectors/table.js';
import { configSecrets, hasStatusCollectors, type Config } from './config.js';
import { HealthMetrics, type PollIntervals } from './metrics/health.js';
import { RegistryRenderer, type RenderedExposition } from './metrics/rendered.js';
import { scrubbersOf } from './log.js';
import { PollLog } from './poll-log.js';
import { describeStretch, planSchedule, SPARE_REQUESTS, type SchedulePlan } from './schedule-plan.js';
import type { Job } from './scheduler.js';
import { SecretScrubber } from './secrets.js';
import { ApiResolver } from './target/api-resolver.js';
import { CollectorRuns, type CollectorResult } from './target/collector-run.js';
import { notSent, StatusPollTally } from './target/poll-policy.js';

export type { CollectorResult };
export { RenderedExposition } from './metrics/rendered.js';

export interface TargetOptions {
  config: Config;
  logger: Logger;
  now?: () => number;
  /** Monotonic milliseconds for collector durations (default performance.now); tests fix it. */
  monotonicMs?: () => number;
  /** Budget waits; tests with an injected clock pass one that advances it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Answers above this size are abandoned (default 32 MiB). */
  maxBodyBytes?: number;
  /** The fleet's shared limit of requests in flight; absent for a single PBX. */
  gate?: RequestGateLike;
  /** Keep only the compressed render (RenderedExposition.compact): a fleet's thousand targets. */
  compactRender?: boolean;
}

type OwnName = (typeof OWN_SCHEDULE)[number];

export const TARGET_STATES = ['pending', 'up', 'down', 'backing_off'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/**
 * One PBX: its transport and API adapter, its collectors, its registry and last snapshot. The
 * parts live in src/target/ (adapter resolution, the collector run wrapper, the poll verdict);
 * this class wires them and runs the polls. Self-contained, so a fleet is a collection of them.
 */
export class PbxTarget {
  readonly registry = new Registry();
  readonly health: HealthMetrics;
  readonly transport: Transport;
  readonly snapshot: TargetSnapshot = { providers: null, liveEndpoints: null, extensionNumbers: null };
  /** This PBX's secrets: API key, password, and the session cookies it hands out. */
  readonly secrets: SecretScrubber;
  private readonly leaveScrubbers: () => void;
  private readonly pollLog: PollLog;
  /** The AMI collectors' poll lines: their own pause and recovery, apart from the REST API's. */
  private readonly amiPollLog: PollLog;
  private readonly runs: CollectorRuns;
  private readonly resolver: ApiResolver;
  private readonly renderer: RegistryRenderer;
  /** The PBX's AMI session, when an AMI user is configured and an AMI collector enabled. */
  private readonly ami: AmiClient | null;
  /** Every collector built from COLLECTORS; `active` holds those that run on this PBX. */
  private readonly built = new Map<CollectorName, Collector>();
  private readonly active = new Map<CollectorName, Collector>();
  private readonly log: Logger;
  private readonly now: () => number;
  /** Whether the last poll deciding mikopbx_up got a valid answer (see updateUp). */
  private apiAnswered = false;
  /** Whether any poll has decided mikopbx_up yet. */
  private upDecided = false;
  private readonly running = new Map<ScheduleName, Promise<void>>();
  /** The effective schedule: the configured one, stretched to fit the request budget. */
  private plan: SchedulePlan;

  constructor(private readonly opts: TargetOptions) {
    const { config } = opts;
    this.log = opts.logger;
    this.plan = planSchedule(config, config.apiVersion === 'auto' ? null : config.apiVersion);
    const stretch = describeStretch(config, this.plan);
    // Before detection the plan is for the costlier generation: the warning waits for the real one.
    if (stretch && this.plan.generation !== null) this.log.warn({ reason: 'budget' }, stretch);
    else if (stretch) this.log.info({ reason: 'budget' }, stretch);
    this.now = opts.now ?? Date.now;
    this.secrets = new SecretScrubber({ secrets: configSecrets(config) });
    // It joins the scrubbers its logger writes through (one source, so its secrets are scrubbed
    // from exactly the lines that logger writes) until close().
    this.leaveScrubbers = scrubbersOf(opts.logger)?.add(this.secrets) ?? (() => undefined);
    this.pollLog = new PollLog(
      this.log,
      (e) => this.describeError(e),
      () => this.transport.backoff.active() !== null,
    );
    this.amiPollLog = new PollLog(
      this.log,
      (e) => this.describeError(e),
      () => ['backoff', 'auth_failed'].includes(this.ami?.status().state ?? ''),
      'PBX AMI answers again',
    );
    const wantsAmi = config.collectors.some((c) => AMI_COLLECTORS.includes(c));
    this.health = new HealthMetrics(this.registry, {
      pollIntervalSeconds: this.plan.statusIntervalSeconds,
      cdrPollIntervalSeconds: this.plan.cdrIntervalSeconds,
      systemPollIntervalSeconds: config.systemPollIntervalSeconds,
      upFrom: hasStatusCollectors(config) ? 'status' : 'cdr',
      fleet: opts.gate !== undefined,
      ...(wantsAmi && config.amiUser ? { amiIntervalSeconds: config.pollIntervalSeconds } : {}),
    });
    this.transport = new Transport({
      baseUrl: config.url,
      timeoutMs: config.timeoutSeconds * 1000,
      ca: config.ca,
      insecureSkipVerify: config.tlsInsecureSkipVerify,
      maxRequestsPerMinute: config.maxRequestsPerMinute,
      onRequest: (endpoint, code) => this.health.apiRequests.inc({ endpoint, code }),
      onSecret: (secret) => this.secrets.add(secret, { transient: true }),
      now: this.now,
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
      ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      ...(opts.gate ? { gate: opts.gate } : {}),
    });
    this.runs = new CollectorRuns({
      health: this.health,
      pollLog: this.pollLog,
      log: this.log,
      snapshot: this.snapshot,
      now: this.now,
      monotonicMs: opts.monotonicMs ?? (() => performance.now()),
      describe: (e) => this.describeError(e),
    });
    this.resolver = new ApiResolver({
      config,
      transport: this.transport,
      log: this.log,
      onGeneration: (api) => this.onGeneration(api),
      // Back after an outage or a generation change: the CDR cursor may have moved.
      onRedetected: () => {
        for (const collector of this.built.values()) collector.apiRedetected?.();
      },
    });
    this.renderer = new RegistryRenderer(this.registry, opts.compactRender);
    this.ami = wantsAmi && config.amiUser ? this.startAmi(config) : null;
    const off: CollectorName[] = [];
    for (const name of [...STATUS_ORDER, ...OWN_SCHEDULE]) {
      if (!config.collectors.includes(name)) continue;
      const collector = collectorSpec(name).create({
        registry: this.registry,
        intervalSeconds: this.intervalSeconds(name),
        peerDetails: config.peerDetails,
        budgetRemaining: () => this.transport.budget.remaining(),
        // A backlog page is read only while a minute of status polls still fits beside it.
        budgetReserve: () => Math.min(this.plan.statusRequestsPerMinute + SPARE_REQUESTS, config.maxRequestsPerMinute - 1),
        now: this.now,
        ami: this.ami,
        // Names come from REST on v3; legacy has no call-queues endpoint, so its queues go unnamed.
        queueNames: { list: async () => (await this.resolver.api?.callQueues?.()) ?? [] },
        queueMemberDetails: config.queueMemberDetails,
        utcOffsetMinutes: () => this.resolver.api?.utcOffsetMinutes?.() ?? null,
      });
      if (!collector) {
        off.push(name);
        continue;
      }
      this.built.set(name, collector);
      this.active.set(name, collector);
      if (config.apiVersion === 'legacy') this.setV3OnlyAvailable(name, false, 'legacy');
    }
    this.health.initCollectors([...this.active.keys()]);
    if (off.length > 0) {
      this.log.info(
        { collectors: off },
        `${off.join(' and ')} collector${off.length > 1 ? 's' : ''} off: they read the PBX's AMI (call queues, Asterisk core), and MIKOPBX_AMI_USER is not set; see the README's "Call queues over AMI"`,
      );
    }
    this.health.requestBudgetRemaining.set(config.maxRequestsPerMinute);
    this.health.setIntervals(this.intervals(), [...this.active.keys()]);
  }

  /** One long-lived AMI session per PBX, logged in once; its password is in this target's scrubber. */
  private startAmi(config: Config): AmiClient {
    const client = new AmiClient({
      host: config.amiHost ?? new URL(config.url).hostname.replace(/^\[|\]$/g, ''),
      port: config.amiPort,
      username: config.amiUser as string,
      secret: config.amiPassword as string,
      tls: config.amiTls ? { ca: config.ca, insecureSkipVerify: config.tlsInsecureSkipVerify } : undefined,
      actionTimeoutMs: config.timeoutSeconds * 1000,
      log: this.log,
      now: this.now,
    });
    client.start();
    return client;
  }

  /** The collectors this target has (those its configuration can run), in configuration order. */
  collectorNames(): CollectorName[] {
    return this.opts.config.collectors.filter((n) => this.built.has(n));
  }

  get config(): Config {
    return this.opts.config;
  }

  get generation(): PbxApi['generation'] | null {
    return this.resolver.api?.generation ?? null;
  }

  /** Each collector's last result (the landing page, /readyz). */
  get results(): ReadonlyMap<CollectorName, CollectorResult> {
    return this.runs.results;
  }

  /** How often a collector runs now: the status collectors together, cdr and system on their own schedules. */
  intervalSeconds(name: CollectorName | ScheduleName): number {
    const schedule = name === 'status' ? 'status' : collectorSpec(name).schedule;
    return this.intervals()[schedule];
  }

  /** How often the configuration asks a collector to run (before any stretching). */
  configuredIntervalSeconds(name: CollectorName): number {
    const { config } = this.opts;
    const schedule = collectorSpec(name).schedule;
    if (schedule === 'system') return config.systemPollIntervalSeconds;
    return schedule === 'cdr' ? config.cdrPollIntervalSeconds : config.pollIntervalSeconds; // status and AMI
  }

  /** The effective schedule (what the budget made of the configured one). */
  get schedulePlan(): SchedulePlan {
    return this.plan;
  }

  /**
   * The polls to schedule: the status poll when a status collector is enabled, and one job per
   * enabled collector with its own schedule (not on a PBX configured legacy: v3 only).
   */
  jobs(): Job[] {
    const { config } = this.opts;
    const jobs: Job[] = hasStatusCollectors(config)
      ? [{ name: 'status', intervalSeconds: () => this.intervalSeconds('status'), run: () => this.runStatusPoll() }]
      : [];
    for (const name of OWN_SCHEDULE) {
      if (!this.built.has(name) || (config.apiVersion === 'legacy' && collectorSpec(name).v3Only)) continue;
      jobs.push({ name, intervalSeconds: () => this.intervalSeconds(name), run: () => this.runOwnPoll(name) });
    }
    return jobs;
  }

  /** /readyz: every enabled collector has finished its first run (successfully or not). */
  isReady(): boolean {
    return this.opts.config.collectors.every((name) => this.runs.results.has(name) || !this.active.has(name));
  }

  /** The last rendered exposition of this target's registry (never blocks on the PBX). */
  metricsText(): string {
    return this.renderer.current().text;
  }

  /** The last rendered exposition as text and bytes; replaced (never changed) by each render. */
  exposition(): RenderedExposition {
    return this.renderer.current();
  }

  /** Calls listener with each new exposition, right after its render (e.g. to compress it ahead). */
  onRender(listener: (exposition: RenderedExposition) => void): void {
    this.renderer.onRender(listener);
  }

  private intervals(): PollIntervals {
    const { config } = this.opts;
    // AMI does not spend the REST budget: its collectors keep the configured status interval.
    const ami = config.pollIntervalSeconds;
    return { status: this.plan.statusIntervalSeconds, cdr: this.plan.cdrIntervalSeconds, system: config.systemPollIntervalSeconds, queues: ami, asterisk: ami };
  }

  /** A new adapter (the first, or another generation): plan for it and start or stop the v3-only collectors. */
  private onGeneration(api: PbxApi): void {
    this.replan(api.generation);
    this.health.apiInfo.reset();
    this.health.apiInfo.set({ api: api.generation }, 1);
    for (const name of this.built.keys()) {
      const v3Only = collectorSpec(name).v3Only;
      if (v3Only) this.setV3OnlyAvailable(name, v3Only.available(api), api.generation);
    }
  }

  /** The generation (and so the requests per poll) is known: plan for it, and say so if stretched. */
  private replan(generation: PbxApi['generation']): void {
    const before = this.plan;
    this.plan = planSchedule(this.opts.config, generation);
    const stretch = describeStretch(this.opts.config, this.plan);
    if (stretch) this.log.warn({ reason: 'budget', api: generation }, stretch);
    else if (before.stretched) {
      this.log.info(
        { api: generation, statusIntervalSeconds: this.plan.statusIntervalSeconds },
        'the configured poll intervals fit the request budget of this PBX',
      );
    }
    if (before.statusIntervalSeconds === this.plan.statusIntervalSeconds && before.cdrIntervalSeconds === this.plan.cdrIntervalSeconds) return;
    for (const [name, collector] of this.built) collector.setIntervalSeconds(this.intervalSeconds(name));
    this.health.setIntervals(this.intervals(), [...this.active.keys()]);
  }

  /**
   * A v3-only collector runs, exports its series and holds /readyz back where the PBX serves what
   * it reads; elsewhere none of that, and the log says so once per change.
   */
  private setV3OnlyAvailable(name: CollectorName, available: boolean, generation: PbxApi['generation']): void {
    const collector = this.built.get(name);
    const v3Only = collectorSpec(name).v3Only;
    if (!collector || !v3Only || available === this.active.has(name)) return;
    collector.setRegistered?.(available);
    if (available) {
      this.active.set(name, collector);
      this.health.initCollectors([name]);
      this.health.setIntervals(this.intervals(), [name]);
      this.log.info({ collector: name, api: generation }, v3Only.started);
    } else {
      this.active.delete(name);
      this.runs.results.delete(name);
      this.health.removeCollector(name);
      this.log.warn({ collector: name, api: generation }, v3Only.notStarted);
    }
  }

  /** Runs peers, providers and calls once, one after another. Overlapping calls share one run. */
  runStatusPoll(): Promise<void> {
    return this.once('status', () => this.statusPoll());
  }

  /** The cdr poll (its own schedule); see runOwnPoll. */
  runCdrPoll(): Promise<void> {
    return this.runOwnPoll('cdr');
  }

  /** The system poll (its own schedule); see runOwnPoll. */
  runSystemPoll(): Promise<void> {
    return this.runOwnPoll('system');
  }

  /**
   * Runs a collector that has its own schedule once. The v3-only ones (cdr, system) are not
   * started on legacy MikoPBX: there their series are not exported and /readyz does not wait for
   * them; with MIKOPBX_API_VERSION=auto that is known only after detection.
   */
  runOwnPoll(name: OwnName): Promise<void> {
    if (!this.built.has(name)) return Promise.resolve();
    return this.once(name, () => this.ownPoll(name));
  }

  /**
   * Starts a poll unless it is running (then its callers share the run). A poll never outlasts
   * its interval (a cdr backlog continues next time), or one request timeout where that is longer.
   */
  private once(schedule: ScheduleName, poll: () => Promise<void>): Promise<void> {
    let running = this.running.get(schedule);
    if (!running) {
      const budgetMs = Math.max(this.intervals()[schedule], this.opts.config.timeoutSeconds) * 1000;
      running = this.transport.withDeadline(this.now() + budgetMs, poll).finally(() => this.running.delete(schedule));
      this.running.set(schedule, running);
    }
    return running;
  }

  private async statusPoll(): Promise<void> {
    const { api, setupError } = await this.resolver.tryResolve();
    const tally = new StatusPollTally(setupError);
    for (const name of STATUS_ORDER) {
      if (!this.active.has(name)) continue;
      tally.record(name, await this.runs.run(name, this.active.get(name), api, tally.presetError()));
    }
    if (tally.redetect) this.resolver.requestRedetect();
    // A poll the exporter did not send at all says nothing about the PBX: up stays as it was.
    this.updateUp(tally.answered);
    if (tally.skipError) this.pollLog.skipped('status', tally.skipped, tally.skipError);
    if (tally.sent) this.pollLog.poll('status', tally.failures);
    await this.render();
  }

  private async ownPoll(name: OwnName): Promise<void> {
    if (collectorSpec(name).source === 'ami') return this.amiPoll(name);
    const { api, setupError } = await this.resolver.tryResolve();
    // Detection decides whether this PBX serves the collector; while unreachable, the last verdict holds.
    if (!this.active.has(name)) {
      this.updateUp();
      return this.render();
    }
    const error = await this.runs.run(name, this.active.get(name), api, setupError);
    const sent = !notSent(error);
    // Without status collectors, the cdr poll is the only sign of the API answering. The system
    // poll never decides it: a key without the health paths must not make the PBX look down.
    const decidesUp = name === 'cdr' && !hasStatusCollectors(this.opts.config);
    this.updateUp(decidesUp && sent ? error === null : undefined);
    if (sent) this.pollLog.poll(name, error === null ? [] : [{ collector: name, error }]);
    else this.pollLog.skipped(name, [name], error);
    await this.render();
  }

  /**
   * What a fleet page says of this PBX: `pending` before any poll decided mikopbx_up,
   * `backing_off` during a ban, overload or refused-login pause, else what mikopbx_up says.
   */
  get state(): TargetState {
    if (this.transport.backoff.active()) return 'backing_off';
    if (!this.upDecided) return 'pending';
    return this.apiAnswered ? 'up' : 'down';
  }

  /**
   * An AMI collector's run: it needs no REST detection (a REST outage must not fail it) and never
   * decides mikopbx_up (the AMI session has mikopbx_ami_up).
   */
  private async amiPoll(name: OwnName): Promise<void> {
    const error = await this.runs.run(name, this.active.get(name), null, null, { needsApi: false });
    this.amiPollLog.poll(name, error === null ? [] : [{ collector: name, error }]);
    await this.render();
  }

  /** The one-line reason shown in logs and on the landing page (never with a secret in it). */
  describeError(e: unknown): string {
    if (e instanceof PbxApiError) return this.scrub(e.endpoint ? `${e.endpoint}: ${e.message}` : e.message);
    return this.scrub(e instanceof Error ? e.message : String(e));
  }

  /** Removes this target's secrets from a text (error messages, the landing page). */
  scrub(text: string): string {
    return this.secrets.scrub(text);
  }

  /**
   * mikopbx_up: the last poll that decides it (status, or cdr when it runs alone) got a valid
   * answer, and no ban or refused-login pause is on; any poll may start such a pause.
   */
  private updateUp(answered?: boolean): void {
    if (answered !== undefined) {
      this.apiAnswered = answered;
      this.upDecided = true;
    }
    const banned = this.transport.backoff.until('rate_limited') > 0 || this.transport.backoff.until('login_refused') > 0;
    this.health.up.set(this.apiAnswered && !banned ? 1 : 0);
  }

  /** Renders the registry once per completed poll; scrapes serve these bytes. */
  async render(): Promise<void> {
    for (const reason of BACKOFF_REASONS) {
      this.health.backoffUntil.set({ reason }, this.transport.backoff.until(reason) / 1000);
    }
    this.health.requestBudgetRemaining.set(this.transport.budget.remaining());
    if (this.ami && this.health.ami) {
      const status = this.ami.status();
      this.health.ami.up.set(status.state === 'connected' ? 1 : 0);
      this.health.ami.backoffUntil.set(status.until === null ? 0 : status.until / 1000);
      this.health.ami.loginRefused.set(status.state === 'auth_failed' ? 1 : 0);
    }
    await this.renderer.render();
  }

  /** Stops all traffic to the PBX; its secrets are dropped once the aborted polls have ended. */
  close(): void {
    this.transport.close();
    void this.ami?.close();
    const running = [...this.running.values()];
    const forget = () => {
      this.leaveScrubbers();
      this.secrets.clear();
    };
    if (running.length === 0) forget();
    else void Promise.allSettled(running).then(forget);
  }
}
