import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { fixture } from './fixtures.js';

/**
 * A small v3 PBX for fault-injection tests, with the fault kinds and control shape of the
 * simulator (`faults.set({kind, paths?, count?})`, `requests` log with times, injected clock).
 */
export type FaultKind =
  | 'reset'
  | 'hang'
  | 'slow-drip'
  | 'http-500'
  | 'html-200'
  | 'truncated-json'
  | 'malformed-json'
  | 'result-false'
  | 'wrong-shape'
  | 'huge-body'
  | 'status-429'
  | 'status-503'
  | 'worker-timeout-400'
  | 'empty-active-calls';

export interface Fault {
  kind: FaultKind;
  /** Only these request paths (default: every API path except system:ping). */
  paths?: string[];
  /** Only the next N matching requests (default: until cleared). */
  count?: number;
}

export interface RequestLogEntry {
  at: number;
  path: string;
  status: number | 'dropped';
  authorization: string | undefined;
}

export interface FaultPbx {
  url: string;
  port: number;
  requests: RequestLogEntry[];
  faults: { set(f: Fault): void; clear(): void };
  /** nginx's ban of our IP (after a 429), in the injected clock; 0 if none. */
  bannedUntil(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const PATHS = {
  ping: '/pbxcore/api/v3/system:ping',
  extensions: '/pbxcore/api/v3/sip:getStatuses',
  providers: '/pbxcore/api/v3/sip-providers:getStatuses',
  channels: '/pbxcore/api/v3/pbx-status:getActiveChannels',
};

const BODIES: Record<string, () => string> = {
  [PATHS.ping]: () => fixture('v3/ping.json'),
  [PATHS.extensions]: () => fixture('v3/sip-getStatuses.json'),
  [PATHS.providers]: () => fixture('v3/providers-getStatuses.json'),
  [PATHS.channels]: () => fixture('v3/active-channels.json'),
};

export interface FaultPbxOptions {
  now?: () => number;
  apiKey?: string;
  /** Session cookie handed out on every answer, to check it is never logged. */
  sessionCookie?: string;
  tls?: { cert: string; key: string };
  port?: number;
}

export async function startFaultPbx(opts: FaultPbxOptions = {}): Promise<FaultPbx> {
  const now = opts.now ?? Date.now;
  let fault: (Fault & { left: number }) | null = null;
  let banUntil = 0;
  let offences = 0;
  const requests: RequestLogEntry[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const entry: RequestLogEntry = { at: now(), path, status: 'dropped', authorization: req.headers.authorization };
    requests.push(entry);
    const reply = (status: number, body: string | Buffer, type = 'application/json; charset=UTF-8') => {
      entry.status = status;
      const headers: http.OutgoingHttpHeaders = { 'content-type': type };
      if (opts.sessionCookie) headers['set-cookie'] = [`PHPSESSID=${opts.sessionCookie}; path=/; HttpOnly`];
      res.writeHead(status, headers);
      res.end(body);
    };
    // nginx answers a banned IP before PHP sees anything.
    if (now() < banUntil) return reply(429, 'Too many requests\n', 'text/plain');
    const active = fault && (fault.paths ? fault.paths.includes(path) : path !== PATHS.ping) ? fault : null;
    if (active) {
      active.left -= 1;
      if (active.left <= 0) fault = null;
      const ok = BODIES[path]?.() ?? fixture('v3/empty.json');
      switch (active.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          return; // never answers; the client must give up
        case 'slow-drip': {
          entry.status = 200;
          res.writeHead(200, { 'content-type': 'application/json' });
          let i = 0;
          const t = setInterval(() => {
            if (i >= ok.length || res.destroyed) {
              clearInterval(t);
              timers.delete(t);
              if (!res.destroyed) res.end();
              return;
            }
            res.write(ok[i++] as string);
          }, 50);
          timers.add(t);
          return;
        }
        case 'http-500':
          return reply(500, '<html><body><h1>500 Internal Server Error</h1></body></html>', 'text/html');
        case 'html-200':
          return reply(200, '<!DOCTYPE html><html><head><title>MikoPBX</title></head><body>Login</body></html>', 'text/html; charset=UTF-8');
        case 'truncated-json':
          return reply(200, ok.slice(0, Math.floor(ok.length / 2)));
        case 'malformed-json':
          return reply(200, ok.replace(/"data"\s*:/, '"data" ::'));
        case 'result-false':
          return reply(200, JSON.stringify({ result: false, data: [], messages: { error: ['Internal error in action'] }, function: '', processor: '', pid: 1 }));
        case 'wrong-shape':
          return reply(200, JSON.stringify({ result: true, data: 'not what you expected', messages: [], function: '', processor: '', pid: 1 }));
        case 'huge-body': {
          entry.status = 200;
          res.writeHead(200, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(1 << 20, 0x20);
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', pump);
          };
          res.write('{"result":true,"data":"');
          pump();
          return;
        }
        case 'status-429': {
          // unified-security.lua: 300 s ban, doubling per repeat offence, capped at 3600 s.
          offences += 1;
          banUntil = now() + Math.min(300_000 * 2 ** (offences - 1), 3_600_000);
          return reply(429, 'Too many requests\n', 'text/plain');
        }
        case 'status-503':
          return reply(503, JSON.stringify({ result: false, data: [], messages: { error: ['Service temporarily unavailable, please retry later'] }, function: '', processor: '', pid: 1 }));
        case 'worker-timeout-400':
          return reply(400, JSON.stringify({ result: false, messages: { error: ['Request timeout or worker not responding'] } }));
        case 'empty-active-calls':
          return reply(200, path === PATHS.channels ? fixture('v3/empty.json') : ok);
      }
    }
    if (opts.apiKey && path !== PATHS.ping && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return reply(401, fixture('v3/unauthorized.json'));
    }
    const body = BODIES[path];
    if (!body) return reply(404, JSON.stringify({ success: false, messages: { error: [`Endpoint not found: ${path}`] }, data: null }));
    return reply(200, body());
  };

  let server: http.Server | https.Server;
  const make = () => {
    server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  };
  let port = opts.port ?? 0;
  const start = async () => {
    make();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  };
  await start();

  return {
    get url() {
      return `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    faults: {
      set(f) {
        fault = { ...f, left: f.count ?? Infinity };
      },
      clear() {
        fault = null;
      },
    },
    bannedUntil: () => (now() < banUntil ? banUntil : 0),
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
