import type * as ConfigModule from '../src/config.js';
import type * as LogModule from '../src/log.js';
import type * as SimulatorModule from '../sim/index.js';
import type * as TargetModule from '../src/target.js';
import { distModule, simModule } from './util.ts';

/**
 * Series the exporter exports for a PBX of this many extensions (the same trunks and calls
 * otherwise), after one status poll and the CDR start-up read; process metrics not included.
 */
export async function seriesCount(extensions: number, providers: number, peerDetails: boolean): Promise<number> {
  const { startSimulator } = await simModule<typeof SimulatorModule>('index.js');
  const { loadConfig } = await distModule<typeof ConfigModule>('config.js');
  const { createLogger } = await distModule<typeof LogModule>('log.js');
  const { PbxTarget } = await distModule<typeof TargetModule>('target.js');
  const sim = await startSimulator({ extensions, providers, activeCalls: 20, historyCalls: 0, rateLimit: false });
  // The simulator seeds trunks after extensions from one random stream, so which trunks report an
  // RTT would differ with the extension count; the same trunks on both sides isolate extensions.
  for (const p of sim.model.listProviders()) sim.model.updateProvider(p.id, { rtt: 20 });
  const config = loadConfig({ MIKOPBX_URL: sim.url, MIKOPBX_API_KEY: sim.apiKey, PEER_DETAILS: String(peerDetails) });
  const target = new PbxTarget({ config, logger: createLogger({ level: 'silent' }) });
  try {
    await target.runStatusPoll();
    await target.runCdrPoll();
    return target
      .metricsText()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#')).length;
  } finally {
    target.close();
    await sim.close();
  }
}
