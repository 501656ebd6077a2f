import { redirectHint } from './envelope.js';
import { PbxApiError } from './errors.js';
import type { Transport } from './transport.js';
import type { ApiGeneration } from './types.js';
import { V3 } from './v3.js';

/**
 * Asks the public `system:ping` of v3: 200 means v3 (2025.1+), 404 means legacy (≤ 2024.x,
 * whose router answers unknown routes with 404). Anything else says nothing about the version.
 */
export async function detectGeneration(transport: Transport): Promise<ApiGeneration> {
  const res = await transport.send({ path: V3.ping });
  if (res.status === 200 && /"result"\s*:\s*true/.test(res.body)) return 'v3';
  if (res.status === 404) return 'legacy';
  if (res.status === 200) {
    throw new PbxApiError('parse', V3.ping, 'HTTP 200 but not a MikoPBX ping answer (is MIKOPBX_URL the PBX web address?)', 200);
  }
  throw new PbxApiError('http', V3.ping, `HTTP ${res.status} while detecting the API version${redirectHint(res)}`, res.status);
}
