import nock from 'nock';
import type { Config } from '../../src/config.js';
import { fixture, testConfig } from './fixtures.js';

export const PBX = 'http://pbx.test';
export const LOGIN = 'monitor';
export const PASSWORD = 'S3cret-Pa55!word';
export const LOGIN_PATH = '/admin-cabinet/session/start';
export const P = {
  ping: '/pbxcore/api/v3/system:ping',
  peers: '/pbxcore/api/sip/getPeersStatuses',
  sip: '/pbxcore/api/sip/getRegistry',
  iax: '/pbxcore/api/iax/getRegistry',
  channels: '/pbxcore/api/cdr/getActiveChannels',
  calls: '/pbxcore/api/cdr/getActiveCalls',
} as const;

/** A PHP-like session id (26 chars of [0-9a-v]) derived from n. */
export const sid = (n: number) => `${n}`.padStart(4, '0') + 'q7h2k9v0m1n3b5c6d8f4g2'.slice(0, 22);

export function legacyConfig(overrides: Partial<Config> = {}): Config {
  return testConfig({ apiKey: undefined, login: LOGIN, password: PASSWORD, ...overrides });
}

export const setCookie = (id: string) => ({ 'set-cookie': [`PHPSESSID=${id}; path=/; HttpOnly`], 'content-type': 'application/json' });

/** Expects one login with the documented form body and header; answers with session `id`. */
export function mockLogin(scope: nock.Scope, id: string): nock.Scope {
  return scope
    .post(LOGIN_PATH, (body: Record<string, string>) => body.login === LOGIN && body.password === PASSWORD)
    .matchHeader('x-requested-with', 'XMLHttpRequest')
    .reply(200, fixture('legacy/login-ok.json'), setCookie(id));
}

/** The four status requests of one legacy poll, all with session `id`. */
export function mockStatus(scope: nock.Scope, id: string, o: Partial<Record<'peers' | 'sip' | 'iax' | 'channels', string>> = {}): nock.Scope {
  const cookie = `PHPSESSID=${id}`;
  return scope
    .get(P.sip)
    .matchHeader('cookie', cookie)
    .reply(200, o.sip ?? fixture('legacy/sip-registry.json'))
    .get(P.iax)
    .matchHeader('cookie', cookie)
    .reply(200, o.iax ?? fixture('legacy/iax-registry.json'))
    .get(P.channels)
    .matchHeader('cookie', cookie)
    .reply(200, o.channels ?? fixture('legacy/active-channels.json'))
    .get(P.peers)
    .matchHeader('cookie', cookie)
    .reply(200, o.peers ?? fixture('legacy/peers.json'));
}

export { sample } from './exposition.js';

/** Largest number of events within any window of `windowMs` (inclusive at both ends of a gap < window). */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && (times[j] as number) - (times[i] as number) < windowMs; j++) n++;
    best = Math.max(best, n);
  }
  return best;
}
