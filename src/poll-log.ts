import type { Logger } from 'pino';
import { AmiError } from './api/ami/errors.js';
import { PbxApiError } from './api/errors.js';
import type { CollectorName } from './config.js';

/** One collector's failure within a poll. */
export interface CollectorFailure {
  collector: CollectorName;
  error: unknown;
  /** The failure that ended the poll early; the poll's line names it rather than the first. */
  primary?: boolean;
}

// Outcomes of a pause (ban, overload, refused login): nothing was sent. The line that started
// the pause said why; repeating it every poll only buries it.
const PAUSED_KINDS = new Set(['backoff']);

/**
 * The log of poll outcomes: exactly one line per failed poll (the first failure's reason,
 * endpoint and status, and every collector that failed), each collector's own outcome at debug.
 * While a pause that was already announced goes on, the "not sent" lines drop to debug; when a
 * failing poll succeeds again, one info line says so. Polls the exporter did not send (a spent
 * budget, shutdown) are no failure: see skipped().
 */
export class PollLog {
  private pauseAnnounced = false;
  private readonly failing = new Set<string>();
  private readonly skipsAnnounced = new Set<string>();

  constructor(
    private readonly log: Logger,
    /** The one-line reason of an error, secrets scrubbed. */
    private readonly describe: (e: unknown) => string,
    /** Whether the PBX is paused (back-off) right now. */
    private readonly paused: () => boolean,
    /** What the line after a failing poll's first success says (the REST API, or the AMI session). */
    private readonly recovered = 'PBX API answers again',
  ) {}

  /** One collector's outcome, at debug: the detail behind the poll's single line. */
  collector(name: CollectorName, error: unknown, durationSeconds: number): void {
    if (error === null) this.log.debug({ collector: name, durationSeconds }, 'collector succeeded');
    else this.log.debug({ collector: name, ...failureFields(error), durationSeconds }, `${name} failed: ${this.describe(error)}`);
  }

  /** The poll's outcome: at most one line. `poll` is e.g. 'status' or 'cdr'. */
  poll(poll: string, failures: readonly CollectorFailure[]): void {
    const first = failures.find((f) => f.primary) ?? failures[0];
    if (!first) {
      if (this.failing.delete(poll)) this.log.info({ poll }, this.recovered);
      this.pauseAnnounced = false;
      return;
    }
    const fields = { poll, collector: first.collector, collectors: failures.map((f) => f.collector), ...failureFields(first.error) };
    const why = this.describe(first.error);
    this.failing.add(poll);
    const kind = first.error instanceof PbxApiError || first.error instanceof AmiError ? first.error.kind : 'internal';
    if (PAUSED_KINDS.has(kind) && this.pauseAnnounced) {
      this.log.debug(fields, `${poll} poll failed: ${why}`);
      return;
    }
    this.log.warn(fields, `${poll} poll failed: ${why}`);
    // This line announced a pause: later "not sent" outcomes stay quiet.
    this.pauseAnnounced = this.paused();
  }

  /**
   * Collectors of a poll that the exporter did not send. A spent budget is said once at warn (the
   * schedule is planned to fit it, so it means something else is using the budget), then at debug:
   * mikopbx_collector_skipped_total keeps counting. Shutdown is expected: always debug.
   */
  skipped(poll: string, collectors: readonly CollectorName[], error: PbxApiError): void {
    const fields = { poll, collectors, ...failureFields(error) };
    const why = this.describe(error);
    if (error.kind === 'shutdown' || this.skipsAnnounced.has(error.kind)) {
      this.log.debug(fields, `${poll} poll skipped: ${why}`);
      return;
    }
    this.skipsAnnounced.add(error.kind);
    this.log.warn(
      fields,
      `${poll} poll skipped: ${why}; mikopbx_up and mikopbx_collector_success keep their values, mikopbx_collector_skipped_total counts such polls, and further ones are logged at debug`,
    );
  }
}

/** Structured fields of a failure: what an operator filters on. */
export function failureFields(e: unknown): Record<string, unknown> {
  if (e instanceof PbxApiError) return { reason: e.kind, endpoint: e.endpoint || undefined, status: e.status };
  if (e instanceof AmiError) return { reason: e.kind, action: e.action || undefined };
  return { reason: 'internal', err: e };
}
