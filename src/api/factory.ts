import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { LegacyApi, LegacyClient } from './legacy.js';
import type { PbxApi } from './pbx-api.js';
import type { Transport } from './transport.js';
import type { ApiGeneration } from './types.js';
import { V3Api, V3Client } from './v3.js';

/** Builds the API adapter for a detected or configured generation. */
export function createApi(generation: ApiGeneration, transport: Transport, config: Config, log?: Logger): PbxApi {
  if (generation === 'v3') return new V3Api(new V3Client(transport, config.apiKey));
  const creds = config.login !== undefined && config.password !== undefined ? { login: config.login, password: config.password } : undefined;
  return new LegacyApi(new LegacyClient(transport, creds, log));
}
