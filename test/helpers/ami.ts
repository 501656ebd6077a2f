import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AmiReply } from '../../src/api/ami/connection.js';
import { FrameParser, type AmiFrame, type Greeting } from '../../src/api/ami/frame.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'ami');

/** A recorded AMI exchange from test/fixtures/ami/ (bytes as on the wire, CRLF). */
export function amiFixture(name: string): string {
  return readFileSync(join(DIR, `${name}.ami`), 'utf8');
}

/** Frames of a text, fed through the parser as one connection would (after a greeting). */
export function framesOf(text: string, chunkSize = Infinity): AmiFrame[] {
  const frames: AmiFrame[] = [];
  const parser = new FrameParser(
    () => undefined,
    (f) => frames.push(f),
  );
  const bytes = Buffer.from(`Asterisk Call Manager/11.0.0\r\n${text}`, 'utf8');
  for (let i = 0; i < bytes.length; i += Math.min(chunkSize, bytes.length)) parser.push(bytes.subarray(i, i + Math.min(chunkSize, bytes.length)));
  return frames;
}

/** A reply as the connection hands it on: the response, then the list events without the closing one. */
export function replyOf(fixture: string): AmiReply {
  const frames = framesOf(amiFixture(fixture));
  const [response, ...rest] = frames as [AmiFrame, ...AmiFrame[]];
  const events = rest.filter((f) => f.get('EventList')?.toLowerCase() !== 'complete');
  return { response, events };
}

export function greetingOf(text: string): Greeting | null {
  let g: Greeting | null = null;
  new FrameParser(
    (x) => (g = x),
    () => undefined,
  ).push(Buffer.from(text));
  return g;
}
