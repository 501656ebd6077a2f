#!/usr/bin/env node
import { ConfigError, configSecrets, loadConfig, type Config } from './config.js';
import { startExporter } from './exporter.js';
import { createLogger } from './log.js';

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
  const logger = createLogger({ level: config.logLevel, secrets: configSecrets(config) });
  let exporter;
  try {
    exporter = await startExporter(config, logger);
  } catch (e) {
    logger.fatal({ err: e }, `cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(0), 5000).unref();
    void exporter.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main();
