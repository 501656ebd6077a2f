import { PbxApiError } from '../api/errors.js';

interface Waiter {
  suspect: boolean;
  grant: (release: () => void) => void;
  reject: (e: unknown) => void;
}

/**
 * The fleet's limit of requests in flight (MAX_REQUESTS_IN_FLIGHT), shared first come, first
 * served. Each PBX sends one request at a time, so FIFO is fair per PBX. A PBX whose last request
 * timed out is a suspect: suspects together hold at most a quarter of the slots, so a tenth of
 * the fleet hanging cannot take every slot for its timeouts and delay the PBXs that answer.
 */
export class RequestGate {
  private inFlight = 0;
  private suspectsInFlight = 0;
  private readonly waiting: Waiter[] = [];
  readonly suspectLimit: number;

  constructor(
    readonly limit: number,
    private readonly onWait?: (waitedMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.suspectLimit = Math.max(1, Math.floor(limit / 4));
  }

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with the release function once a slot is free. Waiting ends (with a `budget`-like
   * skip: nothing was sent) when `signal` aborts: the poll's deadline or shutdown.
   */
  acquire(suspect: boolean, endpoint: string, signal?: AbortSignal): Promise<() => void> {
    const start = this.now();
    // Whoever waits does not fit (a release grants every waiter that does, at once): a request
    // that fits now overtakes no one who could have used the slot.
    if (this.fits(suspect)) {
      this.onWait?.(0);
      return Promise.resolve(this.take(suspect));
    }
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        suspect,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          this.onWait?.(this.now() - start);
          resolve(release);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(
          new PbxApiError(
            'in_flight',
            endpoint,
            `not sent: MAX_REQUESTS_IN_FLIGHT (${this.limit}) requests to other PBXs were in flight for the rest of this poll`,
          ),
        );
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private fits(suspect: boolean): boolean {
    return this.inFlight < this.limit && (!suspect || this.suspectsInFlight < this.suspectLimit);
  }

  private take(suspect: boolean): () => void {
    this.inFlight += 1;
    if (suspect) this.suspectsInFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      if (suspect) this.suspectsInFlight -= 1;
      this.grantNext();
    };
  }

  /** The first waiter that fits: a suspect over its share does not hold up those behind it. */
  private grantNext(): void {
    for (let i = 0; i < this.waiting.length && this.inFlight < this.limit;) {
      const w = this.waiting[i] as Waiter;
      if (!this.fits(w.suspect)) {
        i += 1;
        continue;
      }
      this.waiting.splice(i, 1);
      w.grant(this.take(w.suspect));
    }
  }
}
