// Control API under /__sim/: drive the simulator from another process. Plain JSON, no auth,
// not rate-limited, not logged, never faulted.

import type { SimContext } from './context.js';
import type { FaultInjector, FaultSpec } from './faults.js';
import type { RawResponse } from './http-types.js';
import { raw } from './http-types.js';
import type { ApiMode, CallScenario, ExtensionStatus, Extension, Provider, RequestLogEntry } from './types.js';
import { CALL_SCENARIOS } from './types.js';
import type { ScenarioMix } from './model.js';
import { healthControl } from './health.js';
import { amiControl } from './ami/control.js';
import type { SimAmi } from './ami/index.js';

export const CONTROL_PREFIX = '/__sim/';

export interface ControlDeps {
  ctx: SimContext;
  faults: FaultInjector;
  requests: RequestLogEntry[];
  setMode(mode: ApiMode): void;
  /** the AMI side, when started */
  ami?: SimAmi | null;
}

const json = (status: number, body: unknown): RawResponse => raw(status, JSON.stringify(body), 'application/json; charset=utf-8');
const bad = (message: string, status = 400): RawResponse => json(status, { error: message });

const STATUSES: readonly ExtensionStatus[] = ['Available', 'Unavailable', 'Unknown'];

function asObject(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  const v: unknown = JSON.parse(body);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('body must be a JSON object');
  return v as Record<string, unknown>;
}

export function handleControl(deps: ControlDeps, method: string, path: string, query: URLSearchParams, body: string): RawResponse {
  const { ctx, faults } = deps;
  const model = ctx.model;
  let input: Record<string, unknown>;
  try {
    input = asObject(body);
  } catch (e) {
    return bad((e as Error).message);
  }
  const parts = path.slice(CONTROL_PREFIX.length).split('/').map(decodeURIComponent);
  const [resource, id] = parts;
  const literal = `${resource ?? ''}${id !== undefined ? `/${id}` : ''}`;
  const fixed = literal === 'sessions/expire' || literal === 'limits/reset';
  const route = `${method} ${fixed ? literal : `${resource ?? ''}${id !== undefined ? '/:id' : ''}`}`;
  if (resource === 'ami') {
    if (!deps.ami) return bad('the AMI side is not started (startSimulator({ ami: {} }) or --ami-port)', 404);
    try {
      const out = amiControl(deps.ami, method, id, input, query);
      return out === undefined ? bad(`unknown control endpoint ${method} ${path}`, 404) : json(200, out);
    } catch (e) {
      return bad((e as Error).message);
    }
  }
  try {
    switch (route) {
      case 'GET truth': {
        const after = query.get('cdrAfterId');
        return json(200, model.truth(after === null ? {} : { cdrAfterId: Number(after) }));
      }
      case 'GET requests': {
        const since = Number(query.get('since') ?? 0);
        return json(200, deps.requests.slice(since));
      }
      case 'DELETE requests':
        deps.requests.length = 0;
        return json(200, { ok: true });
      case 'GET stats':
        return json(200, { ...ctx.stats, mode: ctx.mode, sessions: ctx.sessions.size, faultsFired: faults.fired, maxCdrId: model.maxCdrId() });
      case 'GET extensions':
        return json(200, model.listExtensions());
      case 'GET providers':
        return json(200, model.listProviders());
      case 'GET calls':
        return json(200, model.activeCalls());
      case 'GET cdr':
        return json(200, model.cdrRows(Number(query.get('afterId') ?? 0)));
      case 'POST providers/:id': {
        const pid = id as string;
        const { state, legacy, ...rest } = input;
        if (!model.getProvider(pid)) model.addProvider({ ...(rest as Partial<Provider>), id: pid });
        else if (Object.keys(rest).length > 0) model.updateProvider(pid, rest as Partial<Provider>);
        if (typeof state === 'string') model.setProviderState(pid, state, typeof legacy === 'string' ? { legacy } : {});
        return json(200, model.getProvider(pid));
      }
      case 'DELETE providers/:id':
        return model.deleteProvider(id as string) ? json(200, { ok: true }) : bad('no such provider', 404);
      case 'POST extensions/:id': {
        const num = id as string;
        const status = input.status;
        if (status !== undefined && !STATUSES.includes(status as ExtensionStatus)) return bad(`status must be one of ${STATUSES.join(', ')}`);
        const ext = model.getExtension(num)
          ? model.updateExtension(num, input as Partial<Extension>)
          : model.addExtension({ ...(input as Partial<Extension>), number: num });
        return json(200, ext);
      }
      case 'DELETE extensions/:id':
        return model.deleteExtension(id as string) ? json(200, { ok: true }) : bad('no such extension', 404);
      case 'POST calls': {
        if (input.generate !== undefined) {
          const n = Number(input.generate);
          if (!Number.isInteger(n) || n < 0) return bad('generate must be a non-negative integer');
          return json(200, model.generateCalls(n, input.mix ? { mix: input.mix as ScenarioMix } : {}));
        }
        const scenario = input.scenario as CallScenario;
        if (!CALL_SCENARIOS.includes(scenario)) return bad(`scenario must be one of ${CALL_SCENARIOS.join(', ')}`);
        return json(
          200,
          model.startCall(scenario, {
            ...(typeof input.ageMs === 'number' ? { ageMs: input.ageMs } : {}),
            ...(typeof input.durationMs === 'number' ? { durationMs: input.durationMs } : {}),
            ...(typeof input.dialstatus === 'string' ? { dialstatus: input.dialstatus } : {}),
          }),
        );
      }
      case 'DELETE calls/:id':
        return model.endCall(id as string) ? json(200, { ok: true }) : bad('no such call', 404);
      case 'GET faults':
        return json(200, faults.list());
      case 'POST faults': {
        const specs = Array.isArray(input.faults) ? (input.faults as FaultSpec[]) : [input as unknown as FaultSpec];
        faults.clear();
        for (const s of specs) faults.add(s);
        return json(200, faults.list());
      }
      case 'DELETE faults':
        faults.clear();
        return json(200, { ok: true });
      case 'POST mode': {
        const mode = input.mode;
        if (mode !== 'v3' && mode !== 'legacy') return bad('mode must be v3 or legacy');
        deps.setMode(mode);
        return json(200, { mode });
      }
      case 'POST sessions/expire':
        return json(200, { expired: ctx.sessions.expireAll() });
      case 'GET health':
        return json(200, model.healthTruth());
      case 'POST health/:id':
      case 'DELETE health/:id': {
        const out = healthControl(model.health, method, id as string, input);
        return out === undefined ? bad(`unknown control endpoint ${method} ${path}`, 404) : json(200, out);
      }
      case 'POST limits/reset':
        ctx.limiter.reset();
        ctx.throttle.reset();
        return json(200, { ok: true });
      default:
        return bad(`unknown control endpoint ${method} ${path}`, 404);
    }
  } catch (e) {
    return bad((e as Error).message);
  }
}
