import http from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import { createHandler, listen } from './http/server.js';
import { createProcessRegistry } from './metrics/process.js';
import { Scheduler, type Job } from './scheduler.js';
import { PbxTarget } from './target.js';

export interface Exporter {
  target: PbxTarget;
  server: http.Server;
  port: number;
  processRegistry: Registry;
  stop(): Promise<void>;
}

/** Wires one target, its schedule and the HTTP server; used by main and by the demo. */
export async function startExporter(config: Config, logger: Logger): Promise<Exporter> {
  if (config.tlsInsecureSkipVerify) {
    logger.warn('MIKOPBX_TLS_INSECURE_SKIP_VERIFY=true: the PBX certificate is not verified; prefer MIKOPBX_CA_FILE');
  }
  const target = new PbxTarget({ config, logger });
  await target.render();
  const processRegistry = createProcessRegistry();
  const server = http.createServer(createHandler({ target, processRegistry, logger }));
  server.keepAliveTimeout = 65_000;
  const { port } = await listen(server, { host: config.listenAddress, port: config.listenPort });

  const statusEnabled = config.collectors.some((c) => c !== 'cdr');
  const jobs: Job[] = statusEnabled ? [{ name: 'status', intervalSeconds: config.pollIntervalSeconds, run: () => target.runStatusPoll() }] : [];
  // Legacy PBXs have no CDR endpoint: the target then said so once and this job does nothing.
  if (config.collectors.includes('cdr') && config.apiVersion !== 'legacy') {
    jobs.push({ name: 'cdr', intervalSeconds: config.cdrPollIntervalSeconds, run: () => target.runCdrPoll() });
  }
  const scheduler = new Scheduler(jobs, (job, e) => logger.error({ job, err: e }, 'poll crashed'));
  scheduler.start();
  logger.info({ address: config.listenAddress, port, pbx: config.url, collectors: config.collectors }, 'mikopbx-exporter listening');

  let stopping: Promise<void> | null = null;
  return {
    target,
    server,
    port,
    processRegistry,
    stop() {
      stopping ??= (async () => {
        await scheduler.stop(3000);
        target.close();
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
