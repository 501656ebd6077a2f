// The tool locator: skips with a named reason, but fails when REQUIRE_PROMETHEUS_TOOLS=1.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findTool, locateTools, titled } from '../helpers/prometheus-tools.js';

describe('test/helpers/prometheus-tools locateTools', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('returns a skip reason naming the missing binary when not required', () => {
    vi.stubEnv('PATH', '/nonexistent');
    vi.stubEnv('REQUIRE_PROMETHEUS_TOOLS', '');
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const t = locateTools('promtool', 'alertmanager');
    expect(t.skipReason).toContain('promtool');
    expect(t.skipReason).toContain('prometheus-alertmanager or alertmanager');
    expect(titled('suite', t.skipReason)).toMatch(/^suite \[SKIPPED: not installed: promtool/);
  });

  it('throws when REQUIRE_PROMETHEUS_TOOLS=1 and a binary is missing', () => {
    vi.stubEnv('PATH', '/nonexistent');
    vi.stubEnv('REQUIRE_PROMETHEUS_TOOLS', '1');
    expect(() => locateTools('prometheus')).toThrow(/REQUIRE_PROMETHEUS_TOOLS=1 but not installed: prometheus/);
  });

  it('honours an explicit $PROMTOOL_BIN and rejects a non-executable one', () => {
    vi.stubEnv('PROMTOOL_BIN', '/nonexistent/promtool');
    expect(findTool('promtool')).toBeUndefined();
    vi.stubEnv('PROMTOOL_BIN', process.execPath);
    expect(findTool('promtool')).toBe(process.execPath);
  });
});
