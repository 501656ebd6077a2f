import type { CollectorName, Config } from './config.js';

export type Generation = 'v3' | 'legacy';

/** Requests each status collector sends per run (legacy asks for SIP and IAX registrations apart). */
const STATUS_REQUESTS: Record<Generation, Partial<Record<CollectorName, number>>> = {
  v3: { peers: 1, providers: 1, calls: 1 },
  legacy: { peers: 1, providers: 2, calls: 1 },
};

/** Requests per minute kept free for what no schedule foresees: a detection, a legacy login. */
export const SPARE_REQUESTS = 2;

/** Beyond this an interval runs at most once in any 60 s window, so stretching it saves nothing more. */
const LONGEST_USEFUL_STRETCH = 61;

/**
 * The effective schedule of one PBX: the configured intervals, stretched where the request budget
 * cannot carry them, so that the budget never refuses a status poll (a refused poll says nothing
 * about the PBX, and skipping polls at random would make every value stale at random).
 */
export interface SchedulePlan {
  /** The generation planned for; null while unknown (auto before detection): the costlier one. */
  generation: Generation | null;
  statusIntervalSeconds: number;
  cdrIntervalSeconds: number;
  requestsPerStatusPoll: number;
  /** What the effective schedule needs in any 60 s window: status polls, cdr polls' first pages, spare. */
  statusRequestsPerMinute: number;
  cdrRequestsPerMinute: number;
  systemRequestsPerMinute: number;
  /** What the configured schedule would need in any 60 s window. */
  configuredRequestsPerMinute: number;
  /** Whether an interval was stretched. */
  stretched: boolean;
  /** Whether even the most stretched schedule exceeds the budget (then polls the budget refuses are skipped). */
  fits: boolean;
}

/**
 * Runs of a job every `intervalSeconds` that can fall within one 60 s window: the scheduler may
 * start a run a little early, so a 60 s window can hold one run more than 60 / interval.
 */
export function runsPerMinute(intervalSeconds: number): number {
  return Math.floor(60 / intervalSeconds) + 1;
}

export function requestsPerStatusPoll(collectors: readonly CollectorName[], generation: Generation | null): number {
  const count = (g: Generation) => collectors.reduce((n, c) => n + (STATUS_REQUESTS[g][c] ?? 0), 0);
  return generation === null ? Math.max(count('v3'), count('legacy')) : count(generation);
}

type PlanInput = Pick<Config, 'collectors' | 'pollIntervalSeconds' | 'cdrPollIntervalSeconds' | 'maxRequestsPerMinute'> &
  Partial<Pick<Config, 'systemPollIntervalSeconds'>>;

/** Requests of one system poll (storage, advice, bans, clock), v3 only. */
export const REQUESTS_PER_SYSTEM_POLL = 4;

/**
 * The shortest schedule at or above the configured intervals that fits the budget: the status
 * interval is stretched first (it is what users watch; the cdr backlog already yields to it), the
 * cdr interval only where no status interval fits beside it.
 */
export function planSchedule(config: PlanInput, generation: Generation | null): SchedulePlan {
  const perPoll = requestsPerStatusPoll(config.collectors, generation);
  // Legacy MikoPBX has no CDR endpoint; before detection the cdr polls are planned for.
  const cdrPolls = config.collectors.includes('cdr') && generation !== 'legacy';
  const statusNeed = (s: number) => (perPoll > 0 ? runsPerMinute(s) * perPoll : 0);
  // Each cdr poll sends at least one request; backlog pages come only out of what is left.
  const cdrNeed = (c: number) => (cdrPolls ? runsPerMinute(c) : 0);
  // The system poll (every minute at most) is not stretched: it is counted as a fixed need.
  const systemNeed =
    config.collectors.includes('system') && generation !== 'legacy' ? runsPerMinute(config.systemPollIntervalSeconds ?? 300) * REQUESTS_PER_SYSTEM_POLL : 0;
  const fits = (s: number, c: number) => statusNeed(s) + cdrNeed(c) + systemNeed + SPARE_REQUESTS <= config.maxRequestsPerMinute;
  const plan = (s: number, c: number): SchedulePlan => ({
    generation,
    statusIntervalSeconds: s,
    cdrIntervalSeconds: c,
    requestsPerStatusPoll: perPoll,
    statusRequestsPerMinute: statusNeed(s),
    cdrRequestsPerMinute: cdrNeed(c),
    systemRequestsPerMinute: systemNeed,
    configuredRequestsPerMinute: statusNeed(config.pollIntervalSeconds) + cdrNeed(config.cdrPollIntervalSeconds) + systemNeed + SPARE_REQUESTS,
    stretched: s !== config.pollIntervalSeconds || c !== config.cdrPollIntervalSeconds,
    fits: fits(s, c),
  });
  const S = config.pollIntervalSeconds;
  const C = config.cdrPollIntervalSeconds;
  const sMax = perPoll > 0 ? Math.max(S, LONGEST_USEFUL_STRETCH) : S;
  const cMax = cdrPolls ? Math.max(C, LONGEST_USEFUL_STRETCH) : C;
  for (let s = S; s <= sMax; s++) if (fits(s, C)) return plan(s, C);
  for (let s = S; s <= sMax; s++) for (let c = C; c <= cMax; c++) if (fits(s, c)) return plan(s, c);
  return plan(sMax, cMax);
}

/**
 * The one line that says a configured schedule does not fit its budget, naming both variables and
 * what would fit; null when nothing was stretched.
 */
export function describeStretch(config: PlanInput, plan: SchedulePlan): string | null {
  if (!plan.stretched && plan.fits) return null;
  const on = plan.generation === null ? 'until the API generation is detected (planned for the costlier one)' : `on a ${plan.generation} PBX`;
  const need = `${plan.configuredRequestsPerMinute} requests/min ${on} (${plan.requestsPerStatusPoll} per status poll, ${SPARE_REQUESTS} spare)`;
  const configured = `POLL_INTERVAL_SECONDS=${config.pollIntervalSeconds}${plan.cdrIntervalSeconds !== config.cdrPollIntervalSeconds ? ` and CDR_POLL_INTERVAL_SECONDS=${config.cdrPollIntervalSeconds}` : ''}`;
  const budget = `MIKOPBX_MAX_REQUESTS_PER_MINUTE=${config.maxRequestsPerMinute}`;
  if (!plan.fits) {
    return `${configured} needs ${need}, more than ${budget}, and no longer interval fits: polling every ${plan.statusIntervalSeconds} s; polls the budget refuses are skipped (mikopbx_collector_skipped_total); raise ${budget}`;
  }
  const effective = [`status every ${plan.statusIntervalSeconds} s`];
  const fix = [`POLL_INTERVAL_SECONDS=${plan.statusIntervalSeconds}`];
  if (plan.cdrIntervalSeconds !== config.cdrPollIntervalSeconds) {
    effective.push(`cdr every ${plan.cdrIntervalSeconds} s`);
    fix.push(`CDR_POLL_INTERVAL_SECONDS=${plan.cdrIntervalSeconds}`);
  }
  return `${configured} needs ${need}, more than ${budget}: polling ${effective.join(', ')} instead; set ${fix.join(' and ')} or more, or raise MIKOPBX_MAX_REQUESTS_PER_MINUTE to ${plan.configuredRequestsPerMinute} (MikoPBX bans an IP above ≈200/min)`;
}
