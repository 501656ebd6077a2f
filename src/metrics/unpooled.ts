/**
 * A buffer that is kept for long (a rendered exposition, a series family's encoded lines, a
 * compressed part) as its own allocation. Small buffers from Buffer.from/concat are slices of a shared pool block (64 KiB
 * on Node 24) that stays alive as long as any slice does: a fleet of a thousand targets then pins
 * a block per kept slice, about 100 KiB per target for a few KiB of data.
 */
export function unpooled(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

/** Text as a buffer of its own (not a slice of the pool; see above), written without a copy. */
export function ownBuffer(text: string): Buffer {
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  buf.write(text);
  return buf;
}
