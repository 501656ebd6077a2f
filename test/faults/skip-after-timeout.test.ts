import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { PbxTarget } from '../../src/target.js';
import { testConfig } from '../helpers/fixtures.js';

// mikopbx-api.md §7.3: 3 API workers serve every request. Against a hanging PBX, the requests of a
// poll after the first timeout would each occupy a worker for the whole timeout; they are skipped.

/** A PBX that accepts requests and never answers; counts what it got. */
async function hangingPbx() {
  const paths: string[] = [];
  const server = http.createServer((req) => {
    paths.push(req.url ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('a request of a poll times out: the rest of that poll is skipped', () => {
  let pbx: Awaited<ReturnType<typeof hangingPbx>> | undefined;
  let target: PbxTarget | undefined;
  afterEach(async () => {
    target?.close();
    await pbx?.close();
    target = undefined;
    pbx = undefined;
  });

  it('MIKOPBX_API_VERSION=v3 and a hanging PBX: one request per poll, the other collectors fail as skipped', async () => {
    pbx = await hangingPbx();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    target = new PbxTarget({ config: testConfig({ url: pbx.url, apiVersion: 'v3', timeoutSeconds: 0.2 }), logger });

    await target.runStatusPoll();
    expect(pbx.paths).toEqual(['/pbxcore/api/v3/sip-providers:getStatuses']);
    expect(target.results.get('providers')?.error).toMatch(/no complete answer within 0\.2 s/);
    for (const name of ['calls', 'peers'] as const) {
      expect(target.results.get(name)?.success).toBe(false);
      expect(target.results.get(name)?.error).toBe('skipped: an earlier request of this poll (/pbxcore/api/v3/sip-providers:getStatuses) timed out');
    }
    // Skipped collectors say so at debug; the poll's one warn line names the timeout.
    const skipped = lines.filter((l) => l.reason === 'skipped');
    expect(skipped.map((l) => [l.level, l.collector])).toEqual([
      ['debug', 'calls'],
      ['debug', 'peers'],
    ]);
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ reason: 'timeout', collectors: ['providers', 'calls', 'peers'] });

    await target.runStatusPoll();
    expect(pbx.paths).toHaveLength(2);
    expect(target.metricsText()).toMatch(/^mikopbx_up 0$/m);
    expect(target.metricsText()).toContain('mikopbx_api_requests_total{endpoint="/pbxcore/api/v3/sip-providers:getStatuses",code="error"} 2');
  });

  it('a failed detection is not a skip: every collector carries the detection error', async () => {
    pbx = await hangingPbx();
    const logger = createLogger({ level: 'silent' });
    target = new PbxTarget({ config: testConfig({ url: pbx.url, apiVersion: 'auto', timeoutSeconds: 0.2 }), logger });
    await target.runStatusPoll();
    expect(pbx.paths).toEqual(['/pbxcore/api/v3/system:ping']);
    for (const name of ['providers', 'calls', 'peers'] as const) expect(target.results.get(name)?.error).toMatch(/system:ping: no complete answer/);
  });
});
