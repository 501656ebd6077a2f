import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, scrubbersOf } from '../../src/log.js';
import { ScrubberRegistry, SecretScrubber } from '../../src/secrets.js';
import { PbxTarget } from '../../src/target.js';
import { fixture, testConfig } from '../helpers/fixtures.js';

// Secrets belong to their owner (one PBX target, the web server): in a process with many targets,
// one target's cookies never evict another's, and closing a target drops exactly its secrets.

const cookie = (owner: string, i: number) => `${owner}-session-${String(i).padStart(8, '0')}`;

function twoTargets() {
  const scrubbers = new ScrubberRegistry();
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', scrubbers, write: (l) => lines.push(l) });
  const a = new PbxTarget({ config: testConfig({ url: 'http://pbx-a.test', apiKey: 'a'.repeat(64) }), logger });
  const b = new PbxTarget({ config: testConfig({ url: 'http://pbx-b.test', apiKey: 'b'.repeat(64) }), logger });
  return { scrubbers, logger, lines, a, b };
}

describe('SecretScrubber per owner', () => {
  afterEach(() => {
    nock.cleanAll();
  });

  it('two targets in one process each scrub their own API key and cookies; the logger scrubs all of them', async () => {
    const { logger, lines, a, b, scrubbers } = twoTargets();
    expect(scrubbers.size).toBe(2);
    // A's cookie arrives the real way: a Set-Cookie from its PBX.
    const ca = cookie('a', 1);
    nock('http://pbx-a.test')
      .get(/.*/)
      .reply(200, fixture('v3/ping.json'), { 'set-cookie': [`PHPSESSID=${ca}; path=/`] });
    await a.transport.send({ path: '/pbxcore/api/v3/system:ping' });
    const cb = cookie('b', 1);
    b.transport.keepSecret(cb);

    expect(a.scrub(`${ca} ${cb}`)).toBe(`[REDACTED] ${cb}`);
    expect(b.scrub(`${ca} ${cb}`)).toBe(`${ca} [REDACTED]`);
    expect(a.scrub('a'.repeat(64))).toBe('[REDACTED]');
    expect(a.scrub('b'.repeat(64))).toBe('b'.repeat(64));
    logger.info(`a=${ca} b=${cb} keys=${'a'.repeat(64)},${'b'.repeat(64)}`);
    expect(lines.join('')).not.toMatch(/a-session|b-session|aaaaaaaa|bbbbbbbb/);
    a.close();
    b.close();
  });

  it('closing a target drops its secrets from the logger and keeps the others', () => {
    const { logger, lines, a, b, scrubbers } = twoTargets();
    a.transport.keepSecret(cookie('a', 1));
    b.transport.keepSecret(cookie('b', 1));
    a.close();
    expect(scrubbers.size).toBe(1);
    expect(a.secrets.knows(cookie('a', 1))).toBe(false);
    logger.info(`${cookie('a', 1)} ${cookie('b', 1)}`);
    expect(lines.at(-1)).toContain(cookie('a', 1));
    expect(lines.at(-1)).not.toContain(cookie('b', 1));
    b.close();
    expect(scrubbers.size).toBe(0);
  });

  it("a 65th cookie of target A evicts A's oldest, never target B's", () => {
    const { logger, lines, a, b } = twoTargets();
    b.transport.keepSecret(cookie('b', 1));
    for (let i = 1; i <= 65; i++) a.transport.keepSecret(cookie('a', i));
    expect(a.secrets.knows(cookie('a', 1))).toBe(false); // A's own cap of 64
    expect(a.secrets.knows(cookie('a', 65))).toBe(true);
    expect(b.secrets.knows(cookie('b', 1))).toBe(true);
    logger.info(`${cookie('b', 1)} ${cookie('a', 65)} ${cookie('a', 2)}`);
    expect(lines.at(-1)).not.toMatch(/session/);
    a.close();
    b.close();
  });

  it('a logger made without a registry has its own, which targets given only that logger join', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', secrets: ['static-secret-1'], write: (l) => lines.push(l) });
    const t = new PbxTarget({ config: testConfig({ apiKey: 'd'.repeat(64) }), logger });
    expect(scrubbersOf(logger)?.size).toBe(2);
    expect(scrubbersOf(logger.child({ component: 'x' }))).toBe(scrubbersOf(logger));
    logger.info(`static-secret-1 ${'d'.repeat(64)}`);
    expect(lines.at(-1)).not.toMatch(/static-secret-1|dddd/);
    t.close();
    expect(scrubbersOf(logger)?.size).toBe(1);
  });

  it('scrubs raw, JSON-escaped, URI-encoded and base64 forms, and forgets everything on clear()', () => {
    const s = new SecretScrubber({ secrets: ['p@ss "word"/x', undefined, 'abc'] });
    for (const form of [
      'p@ss "word"/x',
      JSON.stringify('p@ss "word"/x').slice(1, -1),
      encodeURIComponent('p@ss "word"/x'),
      Buffer.from('p@ss "word"/x').toString('base64'),
    ]) {
      expect(s.scrub(`<${form}>`)).toBe('<[REDACTED]>');
    }
    expect(s.scrub('abc')).toBe('abc'); // too short to be a secret
    s.clear();
    expect(s.scrub('p@ss "word"/x')).toBe('p@ss "word"/x');
  });
});
