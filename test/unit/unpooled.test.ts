import { describe, expect, it } from 'vitest';
import { unpooled } from '../../src/metrics/unpooled.js';

describe('unpooled', () => {
  it('copies a pooled slice into an allocation of its own, and leaves an own allocation as it is', () => {
    const pooled = Buffer.from('a small exposition line\n');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length); // a slice of the shared pool
    const own = unpooled(pooled);
    expect(own.equals(pooled)).toBe(true);
    expect(own.buffer.byteLength).toBe(own.length);
    expect(unpooled(own)).toBe(own);
  });
});
