#!/usr/bin/env node
// `npm run demo`: the exporter against the built-in simulated MikoPBX, with no configuration.
// `npm run demo -- --legacy` simulates a MikoPBX 2024.x (cookie login, old endpoints) instead.
import { ConfigError, loadConfig } from '../src/config.js';
import { startExporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { ScrubberRegistry } from '../src/secrets.js';
import { startSimulator } from './index.js';

async function demo(): Promise<void> {
  const legacy = process.argv.includes('--legacy');
  const sim = await startSimulator({
    mode: legacy ? 'legacy' : 'v3',
    living: { tickMs: 1000 },
    seed: Number(process.env.DEMO_SEED ?? 1),
  });
  const env: NodeJS.ProcessEnv = {
    POLL_INTERVAL_SECONDS: '5',
    CDR_POLL_INTERVAL_SECONDS: '10',
    ...process.env,
    MIKOPBX_URL: sim.url,
    ...(legacy ? { MIKOPBX_LOGIN: sim.login, MIKOPBX_PASSWORD: sim.password } : { MIKOPBX_API_KEY: sim.apiKey }),
  };
  delete env.MIKOPBX_API_KEY_FILE;
  delete env.MIKOPBX_PASSWORD_FILE;
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mikopbx-exporter demo: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const scrubbers = new ScrubberRegistry();
  const logger = createLogger({ level: config.logLevel, scrubbers });
  const exporter = await startExporter(config, logger);
  const host = config.listenAddress === '0.0.0.0' ? 'localhost' : config.listenAddress;
  logger.info(
    { simulator: sim.url, mode: sim.mode, metrics: `http://${host}:${exporter.port}/metrics` },
    `demo: simulated MikoPBX (${sim.mode}) at ${sim.url}; metrics at http://${host}:${exporter.port}/metrics`,
  );
  const stop = () => {
    setTimeout(() => process.exit(0), 5000).unref();
    void exporter
      .stop()
      .then(() => sim.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void demo();
