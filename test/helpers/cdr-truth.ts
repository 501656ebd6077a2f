import { expect } from 'vitest';
import { ANSWER_DELAY_BUCKETS, CALL_DURATION_BUCKETS } from '../../src/collectors/cdr.js';
import type { CompletedCall, SimTruth } from '../../sim/index.js';

// The cdr collector's series against the simulator's ground truth (truth().cdr, completedCalls()).

export function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Histogram buckets and sums against the simulator's per-call plan. */
export function expectHistogramsMatch(text: string, calls: CompletedCall[]): void {
  const s = series(text);
  for (const direction of ['inbound', 'outbound', 'internal'] as const) {
    const mine = calls.filter((c) => c.direction === direction);
    const durations = mine.map((c) => (c.endMs - c.startMs) / 1000);
    const delays = mine.flatMap((c) => (c.disposition === 'answered' && c.answerDelaySeconds !== null ? [c.answerDelaySeconds] : []));
    expect(s.get(`mikopbx_call_duration_seconds_sum{direction="${direction}"}`)).toBeCloseTo(
      durations.reduce((a, b) => a + b, 0),
      2,
    );
    expect(s.get(`mikopbx_call_answer_delay_seconds_sum{direction="${direction}"}`)).toBeCloseTo(
      delays.reduce((a, b) => a + b, 0),
      2,
    );
    for (const le of CALL_DURATION_BUCKETS) {
      expect(s.get(`mikopbx_call_duration_seconds_bucket{le="${le}",direction="${direction}"}`)).toBe(durations.filter((d) => d <= le).length);
    }
    for (const le of ANSWER_DELAY_BUCKETS) {
      expect(s.get(`mikopbx_call_answer_delay_seconds_bucket{le="${le}",direction="${direction}"}`)).toBe(delays.filter((d) => d <= le).length);
    }
  }
}

export function expectEqualsTruth(text: string, truth: SimTruth['cdr']): void {
  const s = series(text);
  const got: Record<string, number> = {};
  const want: Record<string, number> = {};
  for (const [direction, byDisposition] of Object.entries(truth.calls)) {
    for (const [disposition, n] of Object.entries(byDisposition)) {
      const key = `mikopbx_calls_total{direction="${direction}",disposition="${disposition}"}`;
      want[key] = n;
      got[key] = s.get(key) ?? NaN;
    }
    const talk = `mikopbx_call_talk_seconds_total{direction="${direction}"}`;
    want[talk] = truth.talkSeconds[direction as keyof typeof truth.talkSeconds];
    got[talk] = s.get(talk) ?? NaN;
    const count = `mikopbx_call_duration_seconds_count{direction="${direction}"}`;
    want[count] = Object.values(byDisposition).reduce((a, b) => a + b, 0);
    got[count] = s.get(count) ?? NaN;
    const answered = `mikopbx_call_answer_delay_seconds_count{direction="${direction}"}`;
    want[answered] = byDisposition.answered;
    got[answered] = s.get(answered) ?? NaN;
  }
  for (const [provider, byDirection] of Object.entries(truth.providerCalls)) {
    for (const [direction, byDisposition] of Object.entries(byDirection)) {
      for (const [disposition, n] of Object.entries(byDisposition)) {
        const key = `mikopbx_provider_calls_total{provider="${provider}",direction="${direction}",disposition="${disposition}"}`;
        want[key] = n;
        got[key] = s.get(key) ?? NaN;
      }
    }
  }
  want.mikopbx_cdr_records_total = truth.records;
  got.mikopbx_cdr_records_total = s.get('mikopbx_cdr_records_total') ?? NaN;
  expect(got).toEqual(want);
  // No provider series beyond the truth's.
  const providerSeries = [...s.keys()].filter((k) => k.startsWith('mikopbx_provider_calls_total{'));
  expect(providerSeries.length).toBe(Object.keys(want).filter((k) => k.startsWith('mikopbx_provider_calls_total{')).length);
  if (truth.lastRecordEndTimestamp !== null) {
    expect(s.get('mikopbx_cdr_last_record_timestamp_seconds')).toBeCloseTo(truth.lastRecordEndTimestamp, 3);
  }
}
