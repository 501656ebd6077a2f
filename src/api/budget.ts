/**
 * A hard cap on requests sent to one PBX in any 60 s window (sliding log). MikoPBX's nginx bans an
 * IP for 5 minutes after ≈200 requests a minute, and that ban also locks the admin out of the UI,
 * so this budget is enforced for every request, whatever the intervals and backlogs.
 */
export class RequestBudget {
  private readonly sent: number[] = [];

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  private prune(t: number): void {
    while (this.sent.length > 0 && (this.sent[0] as number) <= t - 60_000) this.sent.shift();
  }

  /** Requests that may still be sent right now. */
  remaining(): number {
    this.prune(this.now());
    return Math.max(0, this.perMinute - this.sent.length);
  }

  /** Milliseconds until one more request fits (0 if it fits now). */
  waitMs(): number {
    const t = this.now();
    this.prune(t);
    if (this.sent.length < this.perMinute) return 0;
    const oldest = this.sent[this.sent.length - this.perMinute] as number;
    return Math.max(0, oldest + 60_000 - t);
  }

  record(): void {
    this.sent.push(this.now());
  }
}
