// Legacy router (MikoPBX ≤ 2024.x): admin-cabinet login with PHPSESSID, /pbxcore/api/{controller}/{action}.

import type { SimContext } from './context.js';
import type { ApiResult, RequestContext, RouteOutcome } from './http-types.js';
import { JSON_TYPE, paramString, raw } from './http-types.js';
import { sessionCookie } from './auth.js';
import { legacyNotFound, legacyUnauthorized } from './envelope-legacy.js';
import { phpJsonEncode } from './php-json.js';
import { activeCallRows, activeChannelRows, iaxRegistry, peersStatusesLegacy, sipRegistry } from './views.js';
import type { Extension } from './types.js';

const P = 'MikoPBX\\PBXCoreREST\\Lib\\';
const LOGIN_PATH = '/admin-cabinet/session/start';
const LOGOUT_PATH = '/admin-cabinet/session/end';
const API_RE = /^\/pbxcore\/api\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_:-]+)\/?$/;

const ok = (fn: string, processor: string, data: unknown): ApiResult => ({ result: true, data, messages: [], function: fn, processor });

const LOGIN_PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>MikoPBX | Login</title></head>
<body><form class="ui form" id="login-form" method="post" action="/admin-cabinet/session/start">
<input type="text" name="login"><input type="password" name="password"><button type="submit">Log in</button>
</form></body></html>
`;

/** getPjSipPeer(): AMI ContactStatusDetail fields, flattened; further contacts get suffixed keys */
function sipPeer(ext: Extension | undefined, peer: string): Record<string, string> {
  if (!ext || ext.disabled) return { state: 'UNKNOWN' };
  const out: Record<string, string> = {};
  ext.devices.forEach((d, i) => {
    const sfx = i === 0 ? '' : d.webrtc ? '-WS0' : `-${i}`;
    const fields: Record<string, string> = {
      Event: 'ContactStatusDetail',
      ActionID: `PJSIPShowEndpoint_${peer}`,
      AOR: d.webrtc ? `${ext.number}-WS` : ext.number,
      URI: `sip:${ext.number}@${d.ip}:${d.port}${d.webrtc ? ';transport=ws' : ';ob'}`,
      UserAgent: d.user_agent,
      RegExpire: '1775820151',
      ViaAddress: `${d.ip}:${d.port}`,
      CallID: `${ext.number}${d.port}callid`,
      Status: d.contactStatus,
      RoundtripUsec: d.rtt === null ? 'N/A' : String(Math.round(d.rtt * 1000)),
      EndpointName: d.webrtc ? `${ext.number}-WS` : ext.number,
    };
    for (const [k, v] of Object.entries(fields)) out[`${k}${sfx}`] = v;
  });
  out.state = ext.devices.length > 0 ? 'OK' : 'UNKNOWN';
  return out;
}

function handleApi(ctx: SimContext, req: RequestContext, controller: string, action: string): ApiResult {
  const model = ctx.model;
  switch (`${controller}/${action}`) {
    case 'sip/getPeersStatuses':
      return ok('getPeersStatuses', `${P}Sip\\GetPeersStatusesAction::main`, peersStatusesLegacy(model, model.liveView()));
    case 'sip/getSipPeer': {
      const peer = paramString(req.params, 'peer') ?? '';
      return ok('getSipPeer', `${P}Sip\\GetPeerStatusAction::main`, sipPeer(model.getExtension(peer), peer));
    }
    case 'sip/getRegistry':
      return ok('getRegistry', `${P}Sip\\GetRegistryAction::main`, sipRegistry(model));
    case 'iax/getRegistry':
      return ok('getRegistry', `${P}Iax\\GetRegistryAction::main`, iaxRegistry(model));
    case 'cdr/getActiveCalls':
      // the action appends the JSON-encoded rows as one string
      return ok('getActiveCalls', `${P}CdrDB\\GetActiveCallsAction::main`, [phpJsonEncode(activeCallRows(model, model.liveView(), true))]);
    case 'cdr/getActiveChannels':
      return ok('getActiveChannels', `${P}CdrDB\\GetActiveChannelsAction::main`, activeChannelRows(model, model.liveView(), true));
    case 'system/getDate':
      return ok('getDate', `${P}SystemManagementProcessor::callBack`, { timestamp: ctx.clock.unix() });
    default:
      return {
        result: false,
        data: [],
        messages: [`Unknown action - ${action}`],
        function: action,
        processor: `${P}${controller.charAt(0).toUpperCase()}${controller.slice(1)}ManagementProcessor::callBack`,
      };
  }
}

const KNOWN_CONTROLLERS = new Set(['sip', 'iax', 'cdr', 'system', 'sysinfo', 'storage', 'advice', 'license', 'extensions', 'files', 'modules', 'firewall']);

function login(ctx: SimContext, req: RequestContext): RouteOutcome {
  if (req.method !== 'POST') {
    return { kind: 'raw', raw: raw(200, LOGIN_PAGE, 'text/html; charset=UTF-8'), authorized: false };
  }
  ctx.stats.loginAttempts++;
  const remain = ctx.throttle.count(req.ip);
  const form = (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded') ? new URLSearchParams(req.body) : new URLSearchParams();
  const xhr = (req.headers['x-requested-with'] ?? '') === 'XMLHttpRequest';
  const headers: Record<string, string> = {};
  let payload: Record<string, unknown>;
  if (remain === 0) {
    ctx.stats.failedLogins++;
    // the PBX really answers success:true here, but registers no session
    payload = { success: true, reload: '/admin-cabinet/session/index', message: { error: ['Too many login attempts. Please try again in 300 seconds.'] } };
  } else if ((form.get('login') ?? 'guest') === ctx.opts.login && (form.get('password') ?? 'guest') === ctx.opts.password) {
    const sid = ctx.sessions.create();
    headers['Set-Cookie'] = `PHPSESSID=${sid}; path=/; HttpOnly`;
    payload = { success: true, reload: form.get('backUri') || '/admin-cabinet/extensions/index', message: [] };
  } else {
    ctx.stats.failedLogins++;
    payload = { success: false, reload: false, message: { error: [`Authorization failed, you have ${remain} attempts left`] } };
  }
  const body = xhr ? phpJsonEncode(payload) : LOGIN_PAGE;
  return {
    kind: 'raw',
    raw: raw(200, body, xhr ? JSON_TYPE : 'text/html; charset=UTF-8', headers),
    authorized: payload.success === true && 'Set-Cookie' in headers,
  };
}

/** Returns null when the path is not a legacy API / login path. */
export function routeLegacy(ctx: SimContext, req: RequestContext): RouteOutcome | null {
  if (req.path === LOGIN_PATH) return login(ctx, req);
  if (req.path === LOGOUT_PATH) {
    ctx.sessions.destroy(sessionCookie(req.headers));
    return { kind: 'raw', raw: raw(302, '', 'text/html; charset=UTF-8', { Location: '/admin-cabinet/session/index' }), authorized: false };
  }
  if (!req.path.startsWith('/pbxcore/api/')) return null;
  const m = API_RE.exec(req.path);
  if (!m || !KNOWN_CONTROLLERS.has(m[1] as string)) return { kind: 'raw', raw: legacyNotFound(ctx.clock), authorized: false };
  const authorized = ctx.sessions.touch(sessionCookie(req.headers)) || (ctx.opts.localhostBypass && req.ip === '127.0.0.1');
  if (!authorized) {
    ctx.stats.unauthenticatedRequests++;
    return { kind: 'raw', raw: legacyUnauthorized(ctx.clock), authorized: false };
  }
  return { kind: 'api', api: handleApi(ctx, req, m[1] as string, m[2] as string), authorized: true };
}
