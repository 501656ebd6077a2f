#!/usr/bin/env node
import { ConfigError, loadConfig, type Config } from './config.js';
import { startExporter, type Exporter } from './exporter.js';
import { createLogger } from './log.js';
import { ScrubberRegistry } from './secrets.js';

/** Exit codes: 0 clean shutdown, 1 cannot start (e.g. port taken), 2 configuration error. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mikopbx-exporter: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // The live secret scrubbers: the logger writes through them, the PBX target and the web server
  // join them with their own secrets.
  const scrubbers = new ScrubberRegistry();
  const logger = createLogger({ level: config.logLevel, scrubbers });
  // A bug somewhere must not silently stop the polling; log it (scrubbed) and carry on.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason, reason: 'internal' }, 'unhandled promise rejection (a bug; please report it)'));

  let exporter: Exporter;
  try {
    exporter = await startExporter(config, logger);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mikopbx-exporter: ${e.message}\n`);
      process.exit(2);
    }
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ` (port ${config.listenPort} is in use; set LISTEN_PORT)` : '';
    logger.fatal({ err: e }, `cannot start: ${err.message}${hint}`);
    process.exit(1);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(0);
    }
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, 5000).unref();
    void exporter.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
