// v3 router: /pbxcore/api/v3/{resource}[/{id}][:{method}], auth, 404/405 and the actions.

import type { SimContext } from './context.js';
import type { ApiResult, RawResponse, RequestContext, RouteOutcome } from './http-types.js';
import { paramString, phpBool, phpIntval } from './http-types.js';
import { checkBearer, isLocalhost } from './auth.js';
import { renderV3, v3MethodNotAllowed, v3NotFound, v3Unauthorized } from './envelope-v3.js';
import { cdrList, cdrMetadata, cdrStatsByProvider } from './cdr-query.js';
import {
  activeCallRows,
  activeChannelRows,
  employeeRow,
  extensionStatusObject,
  extensionStatuses,
  iaxRegistry,
  peersStatusesV3,
  providerList,
  providerStatusObject,
  providerStatuses,
  sipRegistry,
} from './views.js';

export const V3_PREFIX = '/pbxcore/api/v3/';

type Handler = (ctx: SimContext, req: RequestContext, id: string | undefined) => ApiResult;

interface Route {
  verbs: readonly string[];
  public?: boolean;
  /** ResourceSecurity [BEARER_TOKEN] only: no localhost bypass */
  bearerOnly?: boolean;
  /** an exporter must never call it: counted in stats.forbiddenCalls */
  forbidden?: boolean;
  handler: Handler;
}

const ok = (fn: string, processor: string, data: unknown, messages?: ApiResult['messages']): ApiResult => ({
  result: true,
  data,
  function: fn,
  processor,
  ...(messages ? { messages } : {}),
});

const P = 'MikoPBX\\PBXCoreREST\\Lib\\';
const CACHED = { info: ['Using cached data (fresh)'] };

function providerStatusesHandler(ctx: SimContext, req: RequestContext): ApiResult {
  const cached = ctx.cached('providers', 10_000, phpBool(req.params.forceCheck));
  return ok('getStatuses', `${P}Providers\\GetAllStatusesAction::main`, providerStatuses(ctx.model, ctx.clock.unix()), cached ? CACHED : undefined);
}

function providerStatusHandler(ctx: SimContext, _req: RequestContext, id: string | undefined): ApiResult {
  const p = id === undefined ? undefined : ctx.model.getProvider(id);
  const processor = `${P}Providers\\GetStatusByIdAction::main`;
  if (!p) return { result: false, data: [], messages: { error: ['Provider not found'] }, function: 'getStatus', processor };
  const now = ctx.clock.unix();
  return ok('getStatus', processor, {
    ...providerStatusObject(p, now),
    recentEvents: [],
    currentProblem: null,
    statistics: { availability: p.disabled ? 0 : 100, totalChecks: 0 },
    lastUpdateFormatted: ctx.clock.localSeconds(now * 1000),
    stateStartTimeFormatted: ctx.clock.localSeconds(p.stateStartTime * 1000),
  });
}

function providerListHandler(ctx: SimContext, req: RequestContext): ApiResult {
  const includeDisabled = paramString(req.params, 'includeDisabled') === 'true';
  let list = providerList(ctx.model, includeDisabled);
  if (req.params.limit !== undefined || req.params.offset !== undefined) {
    const limit = Math.min(Math.max(1, phpIntval(req.params.limit ?? 50)), 1000);
    const offset = Math.max(0, phpIntval(req.params.offset ?? 0));
    list = list.slice(offset, offset + limit);
  }
  return ok('getList', `${P}Providers\\GetListAction::main`, list);
}

function employeesHandler(ctx: SimContext, req: RequestContext): ApiResult {
  const all = ctx.model.extensions();
  const search = (paramString(req.params, 'search') ?? '').trim().toLowerCase();
  let rows = all.filter((e) => {
    if (search === '') return true;
    const m = /^(id|email|number|mobile):(.*)$/.exec(search);
    if (m) {
      const v = (m[2] ?? '').trim();
      if (m[1] === 'id') return String(e.employeeId) === v;
      if (m[1] === 'email') return e.email.toLowerCase().includes(v);
      if (m[1] === 'number') return e.number.includes(v);
      return e.mobile.includes(v);
    }
    return `${e.number} ${e.callerid} ${e.email} ${e.mobile}`.toLowerCase().includes(search);
  });
  const orderBy = paramString(req.params, 'order_by') ?? 'number';
  const field = ({ username: 'callerid', number: 'number', mobile: 'mobile', email: 'email' } as const)[orderBy as 'number'] ?? 'number';
  const desc = (paramString(req.params, 'order_direction') ?? 'ASC').toUpperCase() === 'DESC';
  rows = [...rows].sort((a, b) => (a[field] < b[field] ? -1 : a[field] > b[field] ? 1 : 0) * (desc ? -1 : 1));
  const filteredCount = rows.length;
  if (req.params.limit !== undefined || req.params.offset !== undefined) {
    const limit = Math.min(Math.max(1, phpIntval(req.params.limit ?? 50)), 1000);
    const offset = Math.max(0, phpIntval(req.params.offset ?? 0));
    rows = rows.slice(offset, offset + limit);
  }
  return ok('getList', `${P}Employees\\GetListAction::main`, {
    data: rows.map(employeeRow),
    recordsTotal: all.length,
    recordsFiltered: filteredCount,
  });
}

/** CallQueues DataStructure::createForList: the Asterisk queue name is `uniqid`, `id` the database id. */
function callQueueList(ctx: SimContext): unknown[] {
  const exts = new Map(ctx.model.extensions().map((e) => [e.number, e]));
  return [...(ctx.queues?.queues() ?? [])]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((q) => ({
      id: String(q.dbId),
      uniqid: q.id,
      extension: q.extension,
      name: q.name,
      represent: `<i class="users icon"></i> ${q.name} <${q.extension}>`,
      strategy: q.strategy,
      members: q.members.map((m) => ({
        extension: m.name,
        represent: exts.has(m.name) ? `<i class="user outline icon"></i> ${exts.get(m.name)?.callerid ?? ''} <${m.name}>` : '',
      })),
    }));
}

const GET = ['GET'] as const;
const ANY = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function forbidden(fn: string, processor: string): Route {
  return { verbs: ANY, forbidden: true, handler: () => ok(fn, `${P}${processor}`, {}) };
}

const ROUTES: Record<string, Route> = {
  'system:ping': { verbs: GET, public: true, handler: () => ok('ping', `${P}SystemManagementProcessor::handlePing`, []) },
  'system:datetime': {
    verbs: GET,
    handler: (ctx) => ok('datetime', `${P}System\\GetDateTimeAction::main`, { timestamp: ctx.model.health.pbxUnix() }),
  },
  'system:checkAuth': { verbs: GET, handler: () => ok('checkAuth', `${P}SystemManagementProcessor::handleCheckAuth`, []) },
  'system:getAvailableLanguages': {
    verbs: GET,
    public: true,
    handler: () => ok('getAvailableLanguages', `${P}System\\GetAvailableLanguagesAction::main`, ['en', 'ru', 'de']),
  },
  'sip:getStatuses': {
    verbs: GET,
    handler: (ctx, req) => {
      const cached = ctx.cached('extensions', 30_000, phpBool(req.params.forceCheck));
      return ok(
        'getStatuses',
        `${P}Extensions\\GetAllStatusesAction::main`,
        extensionStatuses(ctx.model, phpBool(req.params.simplified)),
        cached ? CACHED : undefined,
      );
    },
  },
  'sip/{id}:getStatus': {
    verbs: GET,
    handler: (ctx, _req, id) => {
      const ext = id === undefined ? undefined : ctx.model.getExtension(id);
      const processor = `${P}Extensions\\GetStatusAction::main`;
      if (!ext || ext.disabled) {
        return { result: false, data: [], messages: { error: ['Extension not found or status unavailable'] }, function: 'getStatus', processor };
      }
      return ok('getStatus', processor, extensionStatusObject(ext));
    },
  },
  'sip:getPeersStatuses': {
    verbs: GET,
    handler: (ctx) => ok('getPeersStatuses', `${P}Sip\\GetPeersStatusesAction::main`, peersStatusesV3(ctx.model, ctx.model.liveView())),
  },
  'sip:getRegistry': { verbs: GET, handler: (ctx) => ok('getRegistry', `${P}Sip\\GetRegistryAction::main`, sipRegistry(ctx.model)) },
  'iax:getRegistry': { verbs: GET, handler: (ctx) => ok('getRegistry', `${P}Iax\\GetRegistryAction::main`, iaxRegistry(ctx.model)) },
  'pbx-status:getActiveCalls': {
    verbs: GET,
    handler: (ctx) => ok('getActiveCalls', `${P}PbxStatus\\GetActiveCallsAction::main`, activeCallRows(ctx.model, ctx.model.liveView(), false)),
  },
  'pbx-status:getActiveChannels': {
    verbs: GET,
    handler: (ctx) => ok('getActiveChannels', `${P}PbxStatus\\GetActiveChannelsAction::main`, activeChannelRows(ctx.model, ctx.model.liveView(), false)),
  },
  cdr: { verbs: GET, handler: (ctx, req) => cdrList(ctx.model, req.params) },
  'cdr/{id}': { verbs: GET, handler: () => ok('getRecord', `${P}Cdr\\GetRecordAction::main`, []) },
  'cdr:getMetadata': { verbs: GET, handler: (ctx, req) => cdrMetadata(ctx.model, req.params) },
  'cdr:getStatsByProvider': { verbs: GET, handler: (ctx, req) => cdrStatsByProvider(ctx.model, req.params) },
  employees: { verbs: GET, handler: employeesHandler },
  'call-queues': { verbs: GET, handler: (ctx) => ok('getList', `${P}CallQueues\\GetListAction::main`, callQueueList(ctx)) },
  'firewall:getBannedIps': {
    verbs: GET,
    bearerOnly: true,
    handler: (ctx) => ok('getBannedIps', `${P}Firewall\\GetBannedIpsAction::main`, ctx.model.health.bannedIps()),
  },
  'storage:usage': { verbs: GET, handler: (ctx) => ok('usage', `${P}Storage\\GetUsageAction::main`, ctx.model.health.storageUsage()) },
  'advice:getList': { verbs: GET, handler: (ctx) => ok('getList', `${P}Advice\\GetAdviceListAction::main`, ctx.model.health.adviceView()) },
  // heavy or destructive: live disk scan (mounts partitions), cache wipe, license reset
  'storage:list': forbidden('getList', 'StorageManagementProcessor::getList'),
  storage: forbidden('getRecord', 'Storage\\GetSettingsAction::main'),
  'advice:refresh': forbidden('refresh', 'Advice\\RefreshAction::main'),
  'license:resetKey': forbidden('resetKey', 'License\\ResetLicenseAction::main'),
  'sysinfo:getInfo': {
    verbs: GET,
    handler: (ctx) =>
      ok('getInfo', `${P}Sysinfo\\GetInfoAction::main`, {
        content: `PBXVersion: 2026.1.223\nEnvironment: simulator\nDate: ${ctx.clock.localSeconds()}\nUptime: 3 days\n`,
      }),
  },
};

for (const family of ['sip-providers', 'iax-providers', 'providers']) {
  ROUTES[`${family}:getStatuses`] = { verbs: GET, handler: providerStatusesHandler };
  ROUTES[`${family}/{id}:getStatus`] = { verbs: GET, handler: providerStatusHandler };
  ROUTES[family] = { verbs: GET, handler: providerListHandler };
}

const PATH_RE = /^([a-z0-9-]+)(?:\/([^/:]+))?(?::([A-Za-z-]+))?\/?$/;

function routeKey(rest: string): { key: string; resource: string | undefined; id: string | undefined; method: string | undefined } | null {
  const m = PATH_RE.exec(rest);
  if (!m) return null;
  const [, resource, rawId, method] = m;
  const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
  return { key: `${resource}${id !== undefined ? '/{id}' : ''}${method !== undefined ? `:${method}` : ''}`, resource, id, method };
}

/** storage:list, GET storage, advice:refresh, license:resetKey: counted on arrival, whatever the limiter or faults do */
export function isForbiddenV3Path(path: string): boolean {
  if (!path.startsWith(V3_PREFIX)) return false;
  const k = routeKey(path.slice(V3_PREFIX.length));
  return k !== null && ROUTES[k.key]?.forbidden === true;
}

/** Returns null when the path is not under /pbxcore/api/v3/ */
export function routeV3(ctx: SimContext, req: RequestContext): RouteOutcome | null {
  if (!req.path.startsWith(V3_PREFIX)) return null;
  const rest = req.path.slice(V3_PREFIX.length);
  const k = routeKey(rest);
  const notFound = (): RouteOutcome => ({ kind: 'raw', raw: v3NotFound(ctx.clock, req.path), authorized: false });
  if (!k) return notFound();
  const { resource, id, method } = k;
  const route = ROUTES[k.key];
  if (!route) return notFound();

  // Public endpoints validate a token only optionally; elsewhere a bad token fails even from localhost.
  if (!route.public) {
    const bearer = checkBearer(req.headers, ctx.opts.apiKey);
    const allowed = bearer === 'valid' || (bearer === 'none' && !route.bearerOnly && ctx.opts.localhostBypass && isLocalhost(req.ip));
    if (!allowed) {
      ctx.stats.unauthenticatedRequests++;
      return { kind: 'raw', raw: v3Unauthorized(ctx.clock, ctx.nextPid()), authorized: false };
    }
  }
  if (!route.verbs.includes(req.method)) {
    const raw: RawResponse = v3MethodNotAllowed(ctx.clock, method ?? resource ?? '', req.method);
    return { kind: 'raw', raw, authorized: true };
  }
  return { kind: 'api', api: route.handler(ctx, req, id), authorized: true };
}

export function renderV3Outcome(ctx: SimContext, api: ApiResult): RawResponse {
  return renderV3(ctx.clock, ctx.nextPid(), api);
}
