import cron, { type ScheduledTask } from 'node-cron';

export interface Job {
  name: string;
  /** Read at every run: the effective interval may change (see SchedulePlan). */
  intervalSeconds: number | (() => number);
  run: () => Promise<unknown>;
}

/**
 * A job counts as due this much before its time: the one-second tick fires a millisecond early
 * now and then, and must not push a job due every second to every two.
 */
const TICK_SLACK_MS = 100;

interface JobState extends Job {
  nextAt: number;
  running: Promise<void> | null;
}

/**
 * Runs each job right at start and then every intervalSeconds, never overlapping itself: a run
 * still going when the next is due makes that one skip. node-cron provides a one-second tick, so
 * any interval works (cron expressions alone cannot say "every 45 s").
 */
export class Scheduler {
  private readonly jobs: JobState[];
  private task: ScheduledTask | null = null;
  private stopped = false;

  constructor(
    jobs: Job[],
    private readonly onError: (job: string, e: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.jobs = jobs.map((j) => ({ ...j, nextAt: 0, running: null }));
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
      if (job.running || t < job.nextAt - TICK_SLACK_MS) continue;
      job.nextAt = t + (typeof job.intervalSeconds === 'function' ? job.intervalSeconds() : job.intervalSeconds) * 1000;
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
