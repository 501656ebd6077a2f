import cron, { type ScheduledTask } from 'node-cron';

export interface Job {
  name: string;
  /** Read at every run: the effective interval may change (see SchedulePlan). */
  intervalSeconds: number | (() => number);
  run: () => Promise<unknown>;
  /**
   * Fleet jobs: the first run comes this long after the job is added, and runs stay on that
   * grid (due at offset + k × interval), so many targets spread over the interval instead of
   * all polling at once; a run still going when the next is due skips that slot.
   */
  offsetMs?: number;
}

export interface SchedulerHooks {
  /** A job started, this long after it was due (fleet jobs only; the first run of others is not "due"). */
  onStart?: (job: Job, latenessMs: number) => void;
  /** A job was due while its previous run was still going, so this slot was skipped. */
  onOverrun?: (job: Job) => void;
  /**
   * Fleet jobs start at their due millisecond (a timer armed by the tick before), not all at the
   * next whole-second tick: a thousand targets spread over 30 s would otherwise start ~30 polls
   * at once every second, and scrapes arriving then would wait behind them. Off for schedulers
   * driven by an injected clock (tests, the benchmark's accelerated hour).
   */
  precise?: boolean;
}

/** node-cron's tick: every second. */
const TICK_MS = 1000;

/**
 * A job counts as due this much before its time: the one-second tick fires a millisecond early
 * now and then, and must not push a job due every second to every two.
 */
const TICK_SLACK_MS = 100;

interface JobState extends Job {
  nextAt: number;
  running: Promise<void> | null;
  removed: boolean;
  /** The job as added (what hooks and remove() know it by). */
  source: Job;
  /** The timer that starts a fleet job at its due time (precise mode). */
  armed: ReturnType<typeof setTimeout> | null;
}

/**
 * Runs each job right at start and then every intervalSeconds, never overlapping itself: a run
 * still going when the next is due makes that one skip. node-cron provides a one-second tick, so
 * any interval works (cron expressions alone cannot say "every 45 s").
 */
export class Scheduler {
  private jobs: JobState[] = [];
  private task: ScheduledTask | null = null;
  private stopped = false;

  constructor(
    jobs: Job[],
    private readonly onError: (job: string, e: unknown) => void,
    private readonly now: () => number = Date.now,
    private readonly hooks: SchedulerHooks = {},
  ) {
    this.add(jobs);
  }

  /** Adds jobs: plain ones run at the next tick, fleet ones (offsetMs) at their offset. */
  add(jobs: Job[]): void {
    const t = this.now();
    for (const j of jobs)
      this.jobs.push({ ...j, nextAt: j.offsetMs === undefined ? 0 : t + j.offsetMs, running: null, removed: false, source: j, armed: null });
  }

  /** Drops jobs from the schedule (a run in progress finishes, or is aborted by its owner). */
  remove(jobs: readonly Job[]): void {
    const gone = new Set(jobs);
    for (const j of this.jobs) {
      if (!gone.has(j.source)) continue;
      j.removed = true;
      this.disarm(j);
    }
    this.jobs = this.jobs.filter((j) => !j.removed);
  }

  /** Runs in progress now. */
  get running(): number {
    let n = 0;
    for (const j of this.jobs) if (j.running) n += 1;
    return n;
  }

  start(): void {
    void this.tick();
    this.task = cron.schedule('* * * * * *', () => void this.tick(), { name: 'mikopbx-exporter-poll' });
  }

  /**
   * Starts the jobs that are due; public so tests and the benchmark can drive time themselves.
   * Resolves when the runs it started have finished (it never rejects: errors go to onError).
   */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const t = this.now();
    const started: Promise<void>[] = [];
    for (const job of this.jobs) {
      const precise = this.hooks.precise === true && job.offsetMs !== undefined;
      // A precise job is never started early: a timer waits for its due time.
      if (t < job.nextAt - (precise ? 0 : TICK_SLACK_MS)) {
        if (precise && job.armed === null && job.nextAt < t + TICK_MS + TICK_SLACK_MS) this.arm(job, job.nextAt - t);
        continue;
      }
      const running = this.startDue(job, t);
      if (running) started.push(running);
    }
    return Promise.all(started).then(() => undefined);
  }

  private arm(job: JobState, delayMs: number): void {
    job.armed = setTimeout(() => {
      job.armed = null;
      if (!this.stopped && !job.removed) void this.startDue(job, this.now());
    }, delayMs);
    job.armed.unref();
  }

  private disarm(job: JobState): void {
    if (job.armed) clearTimeout(job.armed);
    job.armed = null;
  }

  /** Starts a job that is due at `t` (or counts the overrun); its run, or null. */
  private startDue(job: JobState, t: number): Promise<void> | null {
    this.disarm(job);
    const intervalMs = (typeof job.intervalSeconds === 'function' ? job.intervalSeconds() : job.intervalSeconds) * 1000;
    if (job.offsetMs !== undefined) {
      const due = job.nextAt;
      // The next slot on the grid after now; slots passed while running (or while the event loop was stuck) are skipped.
      job.nextAt = due + Math.max(1, Math.ceil((t + TICK_SLACK_MS - due) / intervalMs)) * intervalMs;
      if (job.running) {
        this.hooks.onOverrun?.(job.source);
        return null;
      }
      this.hooks.onStart?.(job.source, Math.max(0, t - due));
    } else {
      if (job.running) return null;
      job.nextAt = t + intervalMs;
    }
    const running = job
      .run()
      .then(
        () => undefined,
        (e: unknown) => this.onError(job.name, e),
      )
      .finally(() => {
        job.running = null;
      });
    job.running = running;
    return running;
  }

  /** Stops scheduling and waits (bounded) for running jobs. */
  async stop(maxWaitMs = 5000): Promise<void> {
    this.stopped = true;
    for (const j of this.jobs) this.disarm(j);
    await this.task?.stop();
    this.task = null;
    const running = this.jobs.map((j) => j.running).filter((p): p is Promise<void> => p !== null);
    if (running.length === 0) return;
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, maxWaitMs).unref())]);
  }
}
