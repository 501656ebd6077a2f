import cron, { type ScheduledTask } from 'node-cron';

export interface Job {
  name: string;
  intervalSeconds: number;
  run: () => Promise<unknown>;
}

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
    this.tick();
    this.task = cron.schedule('* * * * * *', () => this.tick(), { name: 'mikopbx-exporter-poll' });
  }

  /** Checks which jobs are due; public so tests can drive time themselves. */
  tick(): void {
    if (this.stopped) return;
    const t = this.now();
    for (const job of this.jobs) {
      if (job.running || t < job.nextAt) continue;
      job.nextAt = t + job.intervalSeconds * 1000;
      job.running = job
        .run()
        .then(
          () => undefined,
          (e: unknown) => this.onError(job.name, e),
        )
        .finally(() => {
          job.running = null;
        });
    }
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
