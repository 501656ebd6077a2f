import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { detectGeneration } from './api/detect.js';
import { PbxApiError } from './api/errors.js';
import { createApi } from './api/factory.js';
import type { PbxApi } from './api/pbx-api.js';
import { Transport } from './api/transport.js';
import { BACKOFF_REASONS } from './api/backoff.js';
import { CallsCollector } from './collectors/calls.js';
import { CdrCollector } from './collectors/cdr.js';
import type { Collector, TargetSnapshot } from './collectors/collector.js';
import { PeersCollector } from './collectors/peers.js';
import { ProvidersCollector } from './collectors/providers.js';
import { SystemCollector } from './collectors/system.js';
import { configSecrets, hasStatusCollectors, type CollectorName, type Config } from './config.js';
import { renderExposition } from './metrics/exposition.js';
import { HealthMetrics, SKIP_REASONS, type SkipReason } from './metrics/health.js';
import { describeStretch, planSchedule, SPARE_REQUESTS, type SchedulePlan } from './schedule-plan.js';
import { scrubbersOf } from './log.js';
import { PollLog, type CollectorFailure } from './poll-log.js';
import { SecretScrubber } from './secrets.js';

export interface CollectorResult {
  success: boolean;
  durationSeconds: number;
  /** Unix ms of the end of the run. */
  at: number;
  error?: string;
}

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
}

/** One rendered exposition (UTF-8); a new object per render, so it can key caches derived from it. */
export class RenderedExposition {
  private decoded: string | null = null;

  constructor(readonly bytes: Buffer) {}

  /** The exposition as text (decoded on first use: scrapes only need the bytes). */
  get text(): string {
    this.decoded ??= this.bytes.toString('utf8');
    return this.decoded;
  }
}

const NOTHING_RENDERED = new RenderedExposition(Buffer.alloc(0));

// Order matters: trunk ids identify trunk channels, and live channels correct legacy peer states.
const STATUS_ORDER: readonly CollectorName[] = ['providers', 'calls', 'peers'];

/**
 * One PBX: its transport and API adapter, its collectors, its registry and last snapshot.
 * Self-contained so that one process can later serve many PBXs.
 */
export class PbxTarget {
  readonly registry = new Registry();
  readonly health: HealthMetrics;
  readonly transport: Transport;
  readonly results = new Map<CollectorName, CollectorResult>();
  readonly snapshot: TargetSnapshot = { providers: null, liveEndpoints: null, extensionNumbers: null };
  /** This PBX's secrets: API key, password, and the session cookies it hands out. */
  readonly secrets: SecretScrubber;
  private readonly leaveScrubbers: () => void;
  private readonly pollLog: PollLog;
  private readonly collectors = new Map<CollectorName, Collector>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly monotonicMs: () => number;
  /** Whether the last poll deciding mikopbx_up got a valid answer (see updateUp). */
  private apiAnswered = false;
  private api: PbxApi | null = null;
  private resolving: Promise<PbxApi> | null = null;
  private redetect = false;
  private statusRunning: Promise<void> | null = null;
  private cdr: CdrCollector | null = null;
  private cdrRunning: Promise<void> | null = null;
  private system: SystemCollector | null = null;
  private systemRunning: Promise<void> | null = null;
  private rendered: RenderedExposition = NOTHING_RENDERED;
  private renderSeq = 0;
  private readonly renderListeners: ((exposition: RenderedExposition) => void)[] = [];
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
    this.monotonicMs = opts.monotonicMs ?? (() => performance.now());
    this.secrets = new SecretScrubber({ secrets: configSecrets(config) });
    // It joins the scrubbers its logger writes through (one source, so its secrets are scrubbed
    // from exactly the lines that logger writes) until close().
    this.leaveScrubbers = scrubbersOf(opts.logger)?.add(this.secrets) ?? (() => undefined);
    this.pollLog = new PollLog(this.log, (e) => this.describeError(e), () => this.transport.backoff.active() !== null);
    this.health = new HealthMetrics(this.registry, {
      pollIntervalSeconds: this.plan.statusIntervalSeconds,
      cdrPollIntervalSeconds: this.plan.cdrIntervalSeconds,
      systemPollIntervalSeconds: config.systemPollIntervalSeconds,
      upFrom: hasStatusCollectors(config) ? 'status' : 'cdr',
    });
    this.health.initCollectors(config.collectors);
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
    });
    const enabled = new Set(config.collectors);
    const status = this.plan.statusIntervalSeconds;
    if (enabled.has('providers')) this.collectors.set('providers', new ProvidersCollector(this.registry, status));
    if (enabled.has('calls')) this.collectors.set('calls', new CallsCollector(this.registry, status));
    if (enabled.has('peers')) {
      this.collectors.set('peers', new PeersCollector(this.registry, { intervalSeconds: status, details: config.peerDetails }));
    }
    if (enabled.has('cdr')) {
      this.cdr = new CdrCollector(this.registry, {
        intervalSeconds: this.plan.cdrIntervalSeconds,
        budgetRemaining: () => this.transport.budget.remaining(),
        // A backlog page is read only while a minute of status polls still fits beside it.
        budgetReserve: () => Math.min(this.plan.statusRequestsPerMinute + SPARE_REQUESTS, config.maxRequestsPerMinute - 1),
        now: this.now,
      });
      this.collectors.set('cdr', this.cdr);
      if (config.apiVersion === 'legacy') this.setCdrAvailable(false, 'legacy');
    }
    if (enabled.has('system')) {
      this.system = new SystemCollector(this.registry, config.systemPollIntervalSeconds);
      this.collectors.set('system', this.system);
      if (config.apiVersion === 'legacy') this.setSystemAvailable(false, 'legacy');
    }
    this.health.requestBudgetRemaining.set(config.maxRequestsPerMinute);
    this.health.setIntervals(this.intervals(), [...this.collectors.keys()]);
  }

  /** How often a collector runs now: the status collectors together, cdr and system on their own schedules. */
  intervalSeconds(name: CollectorName | 'status'): number {
    if (name === 'system') return this.opts.config.systemPollIntervalSeconds;
    return name === 'cdr' ? this.plan.cdrIntervalSeconds : this.plan.statusIntervalSeconds;
  }

  /** How often the configuration asks a collector to run (before any stretching). */
  configuredIntervalSeconds(name: CollectorName): number {
    const { config } = this.opts;
    if (name === 'system') return config.systemPollIntervalSeconds;
    return name === 'cdr' ? config.cdrPollIntervalSeconds : config.pollIntervalSeconds;
  }

  /** The effective schedule (what the budget made of the configured one). */
  get schedulePlan(): SchedulePlan {
    return this.plan;
  }

  private intervals(): { status: number; cdr: number; system: number } {
    return { status: this.plan.statusIntervalSeconds, cdr: this.plan.cdrIntervalSeconds, system: this.opts.config.systemPollIntervalSeconds };
  }

  /** The generation (and so the requests per poll) is known: plan for it, and say so if stretched. */
  private replan(generation: PbxApi['generation']): void {
    const before = this.plan;
    this.plan = planSchedule(this.opts.config, generation);
    const stretch = describeStretch(this.opts.config, this.plan);
    if (stretch) this.log.warn({ reason: 'budget', api: generation }, stretch);
    else if (before.stretched) {
      this.log.info({ api: generation, statusIntervalSeconds: this.plan.statusIntervalSeconds }, 'the configured poll intervals fit the request budget of this PBX');
    }
    if (before.statusIntervalSeconds === this.plan.statusIntervalSeconds && before.cdrIntervalSeconds === this.plan.cdrIntervalSeconds) return;
    for (const [, collector] of this.collectors) collector.setIntervalSeconds(this.intervalSeconds(collector.name));
    if (this.cdr && !this.collectors.has('cdr')) this.cdr.setIntervalSeconds(this.plan.cdrIntervalSeconds);
    this.health.setIntervals(this.intervals(), [...this.collectors.keys()]);
  }

  get config(): Config {
    return this.opts.config;
  }

  get generation(): PbxApi['generation'] | null {
    return this.api?.generation ?? null;
  }

  /** /readyz: every enabled collector has finished its first run (successfully or not). */
  isReady(): boolean {
    return this.opts.config.collectors.every((name) => this.results.has(name) || !this.collectors.has(name));
  }

  /** The last rendered exposition of this target's registry (never blocks on the PBX). */
  metricsText(): string {
    return this.rendered.text;
  }

  /** The last rendered exposition as text and bytes; replaced (never changed) by each render. */
  exposition(): RenderedExposition {
    return this.rendered;
  }

  /** Calls listener with each new exposition, right after its render (e.g. to compress it ahead). */
  onRender(listener: (exposition: RenderedExposition) => void): void {
    this.renderListeners.push(listener);
  }

  /** Resolves the API adapter; concurrent callers (status and cdr polls) share one detection. */
  private resolveApi(): Promise<PbxApi> {
    if (this.api && !this.redetect) return Promise.resolve(this.api);
    this.resolving ??= this.detectApi().finally(() => {
      this.resolving = null;
    });
    return this.resolving;
  }

  /** Detects the generation when configured `auto` and (re)builds the adapter. */
  private async detectApi(): Promise<PbxApi> {
    const setting = this.opts.config.apiVersion;
    const generation = setting === 'auto' ? await detectGeneration(this.transport) : setting;
    if (this.api) this.cdr?.requestCursorCheck(); // back after an outage or a generation change
    if (this.api?.generation !== generation) {
      if (this.api) this.log.warn({ from: this.api.generation, to: generation }, 'MikoPBX API generation changed');
      else this.log.info({ api: generation }, 'MikoPBX API generation detected');
      this.api = createApi(generation, this.transport, this.opts.config, this.log);
      this.replan(generation);
      this.health.apiInfo.reset();
      this.health.apiInfo.set({ api: generation }, 1);
      this.setCdrAvailable(this.api.cdr !== undefined, generation);
      this.setSystemAvailable(this.api.health !== undefined, generation);
    }
    this.redetect = false;
    return this.api;
  }

  /** Runs peers, providers and calls once, one after another. Overlapping calls share one run. */
  runStatusPoll(): Promise<void> {
    if (!this.statusRunning) {
      const deadline = this.now() + this.pollBudgetMs(this.plan.statusIntervalSeconds);
      this.statusRunning = this.transport.withDeadline(deadline, () => this.statusPoll()).finally(() => {
        this.statusRunning = null;
      });
    }
    return this.statusRunning;
  }

  private async statusPoll(): Promise<void> {
    const names = STATUS_ORDER.filter((n) => this.collectors.has(n));
    const { api, setupError } = await this.tryResolveApi();
    const failures: CollectorFailure[] = [];
    const skipped: CollectorName[] = [];
    let skipError: PbxApiError | null = null;
    let anySuccess = false;
    let unreachable = isUnreachable(setupError);
    let notFound = false;
    // MikoPBX serves all API requests with 3 workers (mikopbx-api.md §7.3): once a request of this
    // poll timed out or met a network failure, the rest would only queue behind it or fail alike.
    let cutShort: PbxApiError | null = null;
    for (const name of names) {
      const error = await this.runOne(name, api, setupError ?? (cutShort ? skippedAfter(cutShort) : null));
      if (error === null) {
        anySuccess = true;
        continue;
      }
      if (notSent(error)) {
        skipped.push(name);
        skipError ??= error;
        continue;
      }
      const cuts = cutShort === null && cutsPollShort(error);
      if (cuts) cutShort = error as PbxApiError;
      failures.push({ collector: name, error, primary: cuts });
      if (isUnreachable(error)) unreachable = true;
      if (error instanceof PbxApiError && error.kind === 'not-found') notFound = true;
    }
    // A PBX that was unreachable may come back upgraded (or downgraded): detect again then.
    // Also when a whole poll met 404s: the PBX rebooted into another generation between two polls.
    if ((unreachable || notFound) && !anySuccess) this.redetect = true;
    // A poll the exporter did not send at all says nothing about the PBX: up stays as it was.
    this.updateUp(anySuccess || failures.length > 0 ? anySuccess : undefined);
    if (skipError) this.pollLog.skipped('status', skipped, skipError);
    if (failures.length > 0 || anySuccess) this.pollLog.poll('status', failures);
    await this.render();
  }

  /** resolveApi() for a poll: a failed detection is the error of every collector of that poll. */
  private async tryResolveApi(): Promise<{ api: PbxApi | null; setupError: unknown }> {
    try {
      return { api: await this.resolveApi(), setupError: null };
    } catch (e) {
      return { api: null, setupError: e };
    }
  }

  /**
   * How long one poll may take: its interval (so it never runs into the next), or one request
   * timeout where the interval is shorter than that.
   */
  private pollBudgetMs(intervalSeconds: number): number {
    return Math.max(intervalSeconds, this.opts.config.timeoutSeconds) * 1000;
  }

  /**
   * Runs the cdr collector once (its own schedule). Legacy MikoPBX has no CDR endpoint in its
   * core: there the collector is not started, its series are not exported and /readyz does not
   * wait for it. With MIKOPBX_API_VERSION=auto that is known only after detection.
   */
  runCdrPoll(): Promise<void> {
    if (!this.cdr) return Promise.resolve();
    // Like the status poll, a cdr poll never outlasts its interval (a backlog continues next time).
    const deadline = this.now() + this.pollBudgetMs(this.plan.cdrIntervalSeconds);
    this.cdrRunning ??= this.transport.withDeadline(deadline, () => this.cdrPoll()).finally(() => {
      this.cdrRunning = null;
    });
    return this.cdrRunning;
  }

  private async cdrPoll(): Promise<void> {
    const { api, setupError } = await this.tryResolveApi();
    // Detection decides whether this PBX has a CDR endpoint; while unreachable, the last verdict holds.
    if (!this.collectors.has('cdr')) {
      this.updateUp();
      return this.render();
    }
    const error = await this.runOne('cdr', api, setupError);
    const sent = !notSent(error);
    // Without status collectors, the cdr poll is the only sign of the API answering.
    this.updateUp(hasStatusCollectors(this.opts.config) || !sent ? undefined : error === null);
    if (sent) this.pollLog.poll('cdr', error === null ? [] : [{ collector: 'cdr', error }]);
    else this.pollLog.skipped('cdr', ['cdr'], error);
    await this.render();
  }

  /**
   * Runs the system collector once (its own schedule; v3 only, like cdr). It never decides
   * mikopbx_up: a key without the health paths must not make the PBX look down.
   */
  runSystemPoll(): Promise<void> {
    if (!this.system) return Promise.resolve();
    const deadline = this.now() + this.pollBudgetMs(this.opts.config.systemPollIntervalSeconds);
    this.systemRunning ??= this.transport.withDeadline(deadline, () => this.systemPoll()).finally(() => {
      this.systemRunning = null;
    });
    return this.systemRunning;
  }

  private async systemPoll(): Promise<void> {
    const { api, setupError } = await this.tryResolveApi();
    if (!this.collectors.has('system')) {
      this.updateUp();
      return this.render();
    }
    const error = await this.runOne('system', api, setupError);
    this.updateUp();
    if (!notSent(error)) this.pollLog.poll('system', error === null ? [] : [{ collector: 'system', error }]);
    else this.pollLog.skipped('system', ['system'], error);
    await this.render();
  }

  private setSystemAvailable(available: boolean, generation: PbxApi['generation']): void {
    this.setV3OnlyAvailable('system', this.system, available, () => {
      if (available) this.log.info({ collector: 'system', api: generation }, 'system collector started: this PBX has the v3 health endpoints');
      else this.log.warn({ collector: 'system', api: generation }, 'system collector not started: the legacy MikoPBX core (≤ 2024.x) has no storage, advice, firewall or datetime endpoints in its API; PBX health metrics are not exported');
    });
  }

  private setCdrAvailable(available: boolean, generation: PbxApi['generation']): void {
    this.setV3OnlyAvailable('cdr', this.cdr, available, () => {
      if (available) this.log.info({ collector: 'cdr', api: generation }, 'cdr collector started: this PBX has the v3 CDR endpoint');
      else this.log.warn({ collector: 'cdr', api: generation }, 'cdr collector not started: the legacy MikoPBX core (≤ 2024.x) has no CDR endpoint; completed-call metrics are not exported');
    });
  }

  /**
   * cdr and system exist on v3 only: there they run, export their series and hold /readyz back;
   * on legacy none of that, and `say` tells it once per change.
   */
  private setV3OnlyAvailable(name: 'cdr' | 'system', collector: CdrCollector | SystemCollector | null, available: boolean, say: () => void): void {
    if (!collector || available === this.collectors.has(name)) return;
    collector.setRegistered(available);
    if (available) {
      this.collectors.set(name, collector);
      this.health.initCollectors([name]);
      this.health.setIntervals(this.intervals(), [name]);
    } else {
      this.collectors.delete(name);
      this.results.delete(name);
      this.health.removeCollector(name);
    }
    say();
  }

  /**
   * Runs one collector with timing and success recording (node_exporter's execute()); returns
   * its error, or null. A preset error (failed detection, skipped) fails it without a request.
   * A run the exporter did not send (budget, shutdown) is counted as skipped and changes nothing
   * else: its last result, success and duration stand.
   */
  private async runOne(name: CollectorName, api: PbxApi | null, presetError: unknown): Promise<unknown> {
    const collector = this.collectors.get(name);
    const start = this.monotonicMs();
    let error: unknown = presetError ?? null;
    if (error === null && collector && api) {
      try {
        await collector.collect({ api, snapshot: this.snapshot, log: this.log, now: this.now });
      } catch (e) {
        error = e ?? new Error('collector failed without a reason');
      }
    }
    const durationSeconds = (this.monotonicMs() - start) / 1000;
    const at = this.now();
    const labels = { collector: name };
    if (notSent(error)) {
      this.health.collectorSkipped.inc({ collector: name, reason: error.kind });
      this.pollLog.collector(name, error, durationSeconds);
      return error;
    }
    this.health.collectorDuration.set(labels, durationSeconds);
    const result: CollectorResult = { success: error === null, durationSeconds, at };
    if (error !== null) {
      result.error = this.describeError(error);
      this.health.collectorSuccess.set(labels, 0);
    } else {
      this.health.collectorSuccess.set(labels, 1);
      this.health.collectorLastSuccess.set(labels, at / 1000);
    }
    this.pollLog.collector(name, error, durationSeconds);
    this.results.set(name, result);
    return error;
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
    if (answered !== undefined) this.apiAnswered = answered;
    const banned = this.transport.backoff.until('rate_limited') > 0 || this.transport.backoff.until('login_refused') > 0;
    this.health.up.set(this.apiAnswered && !banned ? 1 : 0);
  }

  /** Renders the registry once per completed poll; scrapes serve these bytes. */
  async render(): Promise<void> {
    for (const reason of BACKOFF_REASONS) {
      this.health.backoffUntil.set({ reason }, this.transport.backoff.until(reason) / 1000);
    }
    this.health.requestBudgetRemaining.set(this.transport.budget.remaining());
    const seq = ++this.renderSeq;
    const bytes = await renderExposition(this.registry);
    if (seq !== this.renderSeq) return; // a later render overtook this one
    this.rendered = new RenderedExposition(bytes);
    for (const listener of this.renderListeners) listener(this.rendered);
  }

  /** Stops all traffic to the PBX; its secrets are dropped once the aborted polls have ended. */
  close(): void {
    this.transport.close();
    const running = [this.statusRunning, this.cdrRunning, this.systemRunning].filter((p) => p !== null);
    const forget = () => {
      this.leaveScrubbers();
      this.secrets.clear();
    };
    if (running.length === 0) forget();
    else void Promise.allSettled(running).then(forget);
  }
}

/** An error of a request the exporter itself did not send: no evidence about the PBX. */
function notSent(e: unknown): e is PbxApiError & { kind: SkipReason } {
  return e instanceof PbxApiError && (SKIP_REASONS as readonly string[]).includes(e.kind);
}

function isUnreachable(e: unknown): boolean {
  return e instanceof PbxApiError && (e.kind === 'network' || e.kind === 'timeout');
}

/**
 * Whether a failure makes the rest of its poll pointless: a timeout, or a network failure other
 * than a reset (a reset is often just a kept-alive socket the PBX closed; a new one may work).
 */
function cutsPollShort(e: unknown): boolean {
  return e instanceof PbxApiError && (e.kind === 'timeout' || (e.kind === 'network' && e.code !== 'ECONNRESET' && e.code !== 'EPIPE'));
}

/** The error of a collector not run because an earlier request of its poll timed out or failed. */
function skippedAfter(cause: PbxApiError): PbxApiError {
  const what = cause.kind === 'timeout' ? 'timed out' : 'met a network failure';
  return new PbxApiError('skipped', '', `skipped: an earlier request of this poll (${cause.endpoint}) ${what}`);
}
