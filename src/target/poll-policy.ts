import { PbxApiError } from '../api/errors.js';
import type { CollectorName } from '../collectors/table.js';
import { SKIP_REASONS, type SkipReason } from '../metrics/health.js';
import type { CollectorFailure } from '../poll-log.js';

/** An error of a request the exporter itself did not send: no evidence about the PBX. */
export function notSent(e: unknown): e is PbxApiError & { kind: SkipReason } {
  return e instanceof PbxApiError && (SKIP_REASONS as readonly string[]).includes(e.kind);
}

export function isUnreachable(e: unknown): boolean {
  return e instanceof PbxApiError && (e.kind === 'network' || e.kind === 'timeout');
}

/**
 * Whether a failure makes the rest of its poll pointless: a timeout, or a network failure other
 * than a reset (a reset is often just a kept-alive socket the PBX closed; a new one may work).
 */
export function cutsPollShort(e: unknown): e is PbxApiError {
  return e instanceof PbxApiError && (e.kind === 'timeout' || (e.kind === 'network' && e.code !== 'ECONNRESET' && e.code !== 'EPIPE'));
}

/** The error of a collector not run because an earlier request of its poll timed out or failed. */
export function skippedAfter(cause: PbxApiError): PbxApiError {
  const what = cause.kind === 'timeout' ? 'timed out' : 'met a network failure';
  return new PbxApiError('skipped', '', `skipped: an earlier request of this poll (${cause.endpoint}) ${what}`);
}

/**
 * The verdict of one status poll, collector by collector. MikoPBX serves all API requests with 3
 * workers (mikopbx-api.md §7.3): once a request of a poll timed out or met a network failure, the
 * rest would only queue behind it or fail alike, so they are failed without a request.
 */
export class StatusPollTally {
  readonly failures: CollectorFailure[] = [];
  readonly skipped: CollectorName[] = [];
  skipError: PbxApiError | null = null;
  private anySuccess = false;
  private unreachable: boolean;
  private notFound = false;
  private cutShort: PbxApiError | null = null;

  constructor(private readonly setupError: unknown) {
    this.unreachable = isUnreachable(setupError);
  }

  /** The error the next collector fails with before sending anything, or null to run it. */
  presetError(): unknown {
    return this.setupError ?? (this.cutShort ? skippedAfter(this.cutShort) : null);
  }

  record(name: CollectorName, error: unknown): void {
    if (error === null) {
      this.anySuccess = true;
      return;
    }
    if (notSent(error)) {
      this.skipped.push(name);
      this.skipError ??= error;
      return;
    }
    const cuts = this.cutShort === null && cutsPollShort(error);
    if (cuts) this.cutShort = error;
    this.failures.push({ collector: name, error, primary: cuts });
    if (isUnreachable(error)) this.unreachable = true;
    if (error instanceof PbxApiError && error.kind === 'not-found') this.notFound = true;
  }

  /**
   * A PBX that was unreachable may come back upgraded (or downgraded): detect again then. Also
   * when a whole poll met 404s: the PBX rebooted into another generation between two polls.
   */
  get redetect(): boolean {
    return (this.unreachable || this.notFound) && !this.anySuccess;
  }

  /** Whether the API answered; undefined when nothing was sent (then mikopbx_up stays as it was). */
  get answered(): boolean | undefined {
    return this.anySuccess || this.failures.length > 0 ? this.anySuccess : undefined;
  }

  /** Whether the poll sent anything (and so gets its poll log line). */
  get sent(): boolean {
    return this.anySuccess || this.failures.length > 0;
  }
}
