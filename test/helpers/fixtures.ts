import { readFileSync } from 'node:fs';
import type { Config } from '../../src/config.js';

export function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
}

export function fixtureJson(path: string): Record<string, unknown> {
  return JSON.parse(fixture(path)) as Record<string, unknown>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    url: 'http://pbx.test',
    apiKey: 'f'.repeat(64),
    login: undefined,
    password: undefined,
    apiVersion: 'auto',
    tlsInsecureSkipVerify: false,
    ca: undefined,
    timeoutSeconds: 2,
    pollIntervalSeconds: 30,
    cdrPollIntervalSeconds: 60,
    systemPollIntervalSeconds: 300,
    collectors: ['peers', 'providers', 'calls'],
    peerDetails: true,
    listenAddress: '127.0.0.1',
    listenPort: 0,
    maxRequestsPerMinute: 60,
    webConfigFile: undefined,
    logLevel: 'silent',
    amiUser: undefined,
    amiPassword: undefined,
    amiHost: undefined,
    amiPort: 5038,
    amiTls: false,
    queueMemberDetails: false,
    ...overrides,
  };
}

/** A logger that keeps every line, for asserting on what was logged (and never leaked). */
export async function captureLogger(level = 'debug') {
  const { createLogger } = await import('../../src/log.js');
  const lines: string[] = [];
  return { lines, logger: createLogger({ level, write: (l) => lines.push(l) }) };
}
