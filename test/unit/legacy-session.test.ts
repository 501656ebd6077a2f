import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/api/backoff.js';
import { PbxApiError } from '../../src/api/errors.js';
import { LegacySession } from '../../src/api/legacy-auth.js';
import type { Transport } from '../../src/api/transport.js';

/** A transport that never sends: every request ends as `kind` before leaving the exporter. */
function unsentTransport(kind: 'deadline' | 'shutdown' | 'budget') {
  let now = Date.UTC(2026, 3, 10, 12);
  const backoff = new Backoff(() => now);
  const sent: string[] = [];
  const transport = {
    now: () => now,
    pollDeadline: () => Infinity,
    backoff,
    keepSecret: () => undefined,
    send: (spec: { path: string }) => {
      sent.push(spec.path);
      return Promise.reject(new PbxApiError(kind, spec.path, `not sent (${kind})`));
    },
  } as unknown as Transport;
  return { transport, backoff, sent, advance: (ms: number) => (now += ms) };
}

describe('LegacySession: logins the PBX never saw', () => {
  it.each(['deadline', 'shutdown', 'budget'] as const)('a login ending as %s is neither a refusal nor a login toward the throttle', async (kind) => {
    const t = unsentTransport(kind);
    const session = new LegacySession(t.transport, { login: 'admin', password: 'secret-pass' });
    for (let i = 0; i < 6; i++) {
      await expect(session.send({ path: '/pbxcore/api/sip/getPeersStatuses' })).rejects.toMatchObject({ kind });
      t.advance(60_000);
    }
    // Every attempt reached the transport (no local throttle), and no login_refused pause began.
    expect(t.sent).toHaveLength(6);
    expect(t.backoff.until('login_refused')).toBe(0);
  });
});
