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
}

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
    for (const j of jobs) this.jobs.push({ ...j, nextAt: j.offsetMs === undefined ? 0 : t + j.offsetMs, running: null, removed: false, source: j });
  }

  /** Drops jobs from the schedule (a run in progress finishes, or is aborted by its owner). */
  remove(jobs: readonly Job[]): void {
    const gone = new Set(jobs);
    for (const j of this.jobs) if (gone.has(j.source)) j.removed = true;
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
      if (t < job.nextAt - TICK_SLACK_MS) continue;
      const intervalMs = (typeof job.intervalSeconds === 'function' ? job.intervalSeconds() : job.intervalSeconds) * 1000;
      if (job.offsetMs !== undefined) {
        const due = job.nextAt;
        // The next slot on the grid after now; slots passed while running (or while the event loop was stuck) are skipped.
        job.nextAt = due + Math.max(1, Math.ceil((t + TICK_SLACK_MS - due) / intervalMs)) * intervalMs;
        if (job.running) {
          this.hooks.onOverrun?.(job.source);
          continue;
        }
        this.hooks.onStart?.(job.source, Math.max(0, t - due));
      } else {
        if (job.running) continue;
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
      started.push(running);
    }
    return Promise.all(started).then(() => undefined);
  }

  /** Stops scheduling and waits (bounded) for running jobs. */
  async stop(maxWaitMs = 5000): Promise<void> {
    this.stopped = true;
    await this.task?.stop();
    this.task = null;
    const running = this.jobs.map((j) => j.running).filter((p): p is Promise<void> => p !== null);
    if (running.length === 0) return;
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, maxWaitMs).unref())]);
  }
}
