import type { Config } from '../config.js';
import { PbxApiError } from './errors.js';
import type { PbxApi } from './pbx-api.js';
import type { Transport } from './transport.js';
import type { ApiGeneration } from './types.js';
import { V3Api, V3Client } from './v3.js';

/** Builds the API adapter for a detected or configured generation. */
export function createApi(generation: ApiGeneration, transport: Transport, config: Config): PbxApi {
  if (generation === 'v3') return new V3Api(new V3Client(transport, config.apiKey));
  throw new PbxApiError('not-found', '/pbxcore/api/v3/system:ping', 'this PBX runs the legacy API (MikoPBX ≤ 2024.x), which this build does not support yet');
}
