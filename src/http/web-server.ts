import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { webConfigReloadMetrics } from '../metrics/process.js';
import { SecretScrubber, type ScrubberRegistry } from '../secrets.js';
import type { RouteHooks } from './respond.js';
import { BasicAuth } from './basic-auth.js';
import { TokenBucket } from './rate-limit.js';
import { clientCertProblem, tlsServerOptions } from './tls-policy.js';
import { filesSignature, loadWebConfig, type WebConfig } from './web-config.js';

export interface WebServer {
  server: http.Server | https.Server;
  tls: boolean;
  /** No web config: plain HTTP, no auth, no extra headers (the fast scrape path may answer). */
  plain: boolean;
  /** Stops watching the web-config file. */
  close(): void;
}

export interface WebServerOptions {
  /** The routes (one PBX, or a fleet), given the hooks the web config asks for. */
  routes: (hooks: RouteHooks) => http.RequestListener;
  /** Removes the PBX secrets from pages; the server adds its own (basic-auth passwords, TLS key). */
  scrub: (text: string) => string;
  webConfigFile: string | undefined;
  logger: Logger;
  /** The process's live scrubbers, which the server joins with its own secrets until close(). */
  scrubbers?: ScrubberRegistry;
  /** How often the web-config file and its certificates are checked for changes. */
  reloadCheckMs?: number;
  /** The registry /metrics serves the exporter's own metrics from: it gets the web-config reload gauges. */
  processRegistry?: Registry;
}

/**
 * The exporter's HTTP(S) server. With WEB_CONFIG_FILE: TLS, basic auth on / and /metrics (the
 * probes stay open), extra headers and a rate limit, as exporter-toolkit does. The file and its
 * certificates are re-read when they change, so a rotated certificate needs no restart; a broken
 * edit is logged, the previous settings stay, and the reload gauges say so (given processRegistry).
 */
export function createWebServer(opts: WebServerOptions): WebServer {
  const { logger } = opts;
  const file = opts.webConfigFile;
  // The server's own secrets (verified basic-auth passwords, an inline TLS key), apart from the PBX's.
  const secrets = new SecretScrubber();
  const scrub = (text: string) => secrets.scrub(opts.scrub(text));
  if (!file) {
    const server = http.createServer(opts.routes({ scrub }));
    return { server, tls: false, plain: true, close: () => undefined };
  }
  let cfg: WebConfig = loadWebConfig(file); // ConfigError on a bad file: exit code 2
  const reloads = opts.processRegistry ? webConfigReloadMetrics(opts.processRegistry) : undefined;
  reloads?.succeeded();
  secrets.add(cfg.tls?.key);
  const leaveScrubbers = opts.scrubbers?.add(secrets) ?? (() => undefined);
  const auth = new BasicAuth(cfg.users, { secrets });
  let bucket = cfg.rateLimit ? new TokenBucket(cfg.rateLimit.intervalMs, cfg.rateLimit.burst) : null;

  const authorize = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> => {
    if (bucket && !bucket.take()) {
      res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('too many requests\n');
      return false;
    }
    return auth.authorize(req, res);
  };
  const handler = opts.routes({ authorize, scrub, headers: () => cfg.headers, tls: cfg.tls !== undefined });

  let server: http.Server | https.Server;
  if (cfg.tls) {
    server = https.createServer(tlsServerOptions(cfg.tls), handler);
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const problem = cfg.tls ? clientCertProblem(cfg.tls, socket) : null;
      if (problem) {
        logger.warn({ remote: socket.remoteAddress, reason: 'client_cert' }, `TLS client refused: ${problem}`);
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      logger.debug({ remote: socket.remoteAddress, code: err.code }, `TLS handshake failed: ${err.message}`);
    });
  } else {
    server = http.createServer(handler);
  }
  logger.info(
    { tls: cfg.tls !== undefined, basicAuth: cfg.users.size > 0, clientAuth: cfg.tls?.clientAuth, rateLimit: cfg.rateLimit !== undefined },
    `web config ${file} loaded`,
  );

  let signature = filesSignature(cfg.files);
  const reload = () => {
    const now = filesSignature(cfg.files);
    if (now === signature) return;
    signature = now;
    let next: WebConfig;
    try {
      next = loadWebConfig(file);
    } catch (e) {
      logger.error({ reason: 'web_config' }, `web config reload failed, keeping the previous settings: ${(e as Error).message}`);
      reloads?.failed();
      return;
    }
    if ((next.tls === undefined) !== (cfg.tls === undefined) || (next.tls && cfg.tls && next.tls.clientAuth !== cfg.tls.clientAuth)) {
      logger.warn(
        { reason: 'web_config' },
        'web config: switching TLS on or off, or changing client_auth_type, needs a restart; TLS stays as it was until then, other changes are applied',
      );
      next = { ...next, tls: cfg.tls };
    }
    if (next.tls && server instanceof https.Server) server.setSecureContext(tlsServerOptions(next.tls));
    secrets.add(next.tls?.key);
    auth.setUsers(next.users);
    bucket = next.rateLimit ? new TokenBucket(next.rateLimit.intervalMs, next.rateLimit.burst) : null;
    cfg = next;
    signature = filesSignature(cfg.files);
    reloads?.succeeded();
    logger.info(`web config ${file} reloaded`);
  };
  const timer = setInterval(reload, opts.reloadCheckMs ?? 10_000);
  timer.unref();
  return {
    server,
    tls: cfg.tls !== undefined,
    plain: false,
    close: () => {
      clearInterval(timer);
      leaveScrubbers();
    },
  };
}
