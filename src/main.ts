#!/usr/bin/env node
import v8 from 'node:v8';
import { ConfigError, loadConfig, loadFleetSettings, type Config, type FleetSettings } from './config.js';
import { startExporter } from './exporter.js';
import { startFleetExporter } from './fleet/fleet-exporter.js';
import { createLogger } from './log.js';
import { ScrubberRegistry } from './secrets.js';

function configProblem(e: unknown): never | void {
  if (e instanceof ConfigError) {
    process.stderr.write(`mikopbx-exporter: ${e.message}\n`);
    process.exit(2);
  }
}

/**
 * A fleet's heap is mostly renders and series that live one poll interval; between two major
 * collections V8 let the old generation grow to about three times the live heap (1,000 PBXs:
 * 109 MB live, up to 341 MB in use), and RSS followed. Grown by half at a time, RSS stays near
 * 1.5 times, for a few percent more CPU time. A single PBX's small heap keeps V8's own pacing,
 * which cost less poll time. The flag is read at every collection, so setting it now takes effect;
 * an operator's own --heap-growing-percent is kept.
 */
function paceFleetHeap(): string {
  const own = process.execArgv.find((a) => a.startsWith('--heap-growing-percent'));
  if (own) return `${own} (given)`;
  v8.setFlagsFromString('--heap-growing-percent=50');
  return '--heap-growing-percent=50';
}

/** Exit codes: 0 clean shutdown, 1 cannot start (e.g. port taken), 2 configuration error. */
async function main(): Promise<void> {
  let fleet: FleetSettings | null;
  let config: Config | null = null;
  try {
    fleet = loadFleetSettings(process.env);
    if (!fleet) config = loadConfig(process.env);
  } catch (e) {
    configProblem(e);
    throw e;
  }
  const settings = fleet?.defaults ?? (config as Config);
  // The live secret scrubbers: the logger writes through them, the PBX targets and the web server
  // join them with their own secrets.
  const scrubbers = new ScrubberRegistry();
  const logger = createLogger({ level: settings.logLevel, scrubbers });
  // A bug somewhere must not silently stop the polling; log it (scrubbed) and carry on.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason, reason: 'internal' }, 'unhandled promise rejection (a bug; please report it)'));

  let stop: () => Promise<void>;
  let reload: () => void;
  try {
    if (fleet) {
      logger.info({ v8: paceFleetHeap() }, 'fleet mode: the heap grows by half its live size between collections');
      const exporter = await startFleetExporter(fleet, logger);
      stop = () => exporter.stop();
      reload = () => void exporter.reload('SIGHUP');
    } else {
      const exporter = await startExporter(config as Config, logger);
      stop = () => exporter.stop();
      reload = () => logger.info({ signal: 'SIGHUP' }, 'SIGHUP: nothing to reload for a single PBX (WEB_CONFIG_FILE is re-read when it changes)');
    }
  } catch (e) {
    configProblem(e);
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ` (port ${settings.listenPort} is in use; set LISTEN_PORT)` : '';
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
    void stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => reload());
}

void main();
