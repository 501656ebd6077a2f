import { StringDecoder } from 'node:string_decoder';
import { AmiError } from './errors.js';

/**
 * The AMI wire format: after a one-line greeting, frames of `Key: Value` lines ending in an empty
 * line (`\r\n\r\n`; a bare `\n` is accepted too). Keys are case-insensitive (Asterisk compares them
 * with strcasecmp) and may repeat (`Output:` lines, `ChanVariable:`), values may contain `: `.
 */
export class AmiFrame {
  private readonly byKey = new Map<string, string[]>();

  constructor(readonly fields: ReadonlyArray<readonly [key: string, value: string]>) {
    for (const [k, v] of fields) {
      const key = k.toLowerCase();
      const list = this.byKey.get(key);
      if (list) list.push(v);
      else this.byKey.set(key, [v]);
    }
  }

  /** The first value of a key, or undefined. */
  get(key: string): string | undefined {
    return this.byKey.get(key.toLowerCase())?.[0];
  }

  /** Every value of a repeated key, in order. */
  all(key: string): string[] {
    return [...(this.byKey.get(key.toLowerCase()) ?? [])];
  }

  has(key: string): boolean {
    return this.byKey.has(key.toLowerCase());
  }
}

export interface Greeting {
  /** `Asterisk`, or `PBX` on builds that hide the Asterisk identity (mikopbx-monitoring-sources.md §2.5). */
  product: 'Asterisk' | 'PBX';
  /** The AMI protocol version (9.0.0 on Asterisk 20, 11.0.0 on 22), not the Asterisk version. */
  version: string;
}

export const GREETING = /^(Asterisk|PBX) Call Manager\/(\S+)/;
/** One frame is one event or response: a QueueMember event is ~400 bytes, the largest we ask for ~1 KiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_\-.()/]*$/;
// Text frames only: a NUL or another control character means the peer is not speaking AMI.
const hasControl = (line: string): boolean => {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
};

/** Printable, short: for quoting what a wrong peer sent in an error message. */
export function quoteForError(text: string, max = 60): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > max ? `${printable.slice(0, max)}…` : printable);
}

/**
 * Turns the byte stream of one connection into the greeting and frames. Throws an AmiError
 * (`greeting` or `protocol`) on a peer that is not an Asterisk manager, on garbage, and on a frame
 * above the size limit; the connection is then dropped, since nothing after it can be trusted.
 */
export class FrameParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private greeted = false;
  private fields: [string, string][] = [];
  private frameBytes = 0;
  private failed: AmiError | null = null;

  constructor(
    private readonly onGreeting: (greeting: Greeting) => void,
    private readonly onFrame: (frame: AmiFrame) => void,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    this.pending += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl < 0) break;
      const line = this.pending.slice(start, this.pending[nl - 1] === '\r' && nl > start ? nl - 1 : nl);
      start = nl + 1;
      try {
        this.line(line);
      } catch (e) {
        this.failed = e as AmiError;
        throw e;
      }
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length + this.frameBytes > this.maxFrameBytes) {
      this.failed = this.tooLarge();
      throw this.failed;
    }
  }

  private line(line: string): void {
    if (!this.greeted) {
      const m = GREETING.exec(line);
      if (!m)
        throw new AmiError(
          'greeting',
          '',
          `not an Asterisk manager interface: expected "Asterisk Call Manager/…" or "PBX Call Manager/…", the first line was ${quoteForError(line)} (check MIKOPBX_AMI_HOST and MIKOPBX_AMI_PORT)`,
        );
      this.greeted = true;
      this.onGreeting({ product: m[1] as Greeting['product'], version: m[2] as string });
      return;
    }
    if (line === '') {
      if (this.fields.length === 0) return; // stray blank lines between frames
      const frame = new AmiFrame(this.fields);
      this.fields = [];
      this.frameBytes = 0;
      this.onFrame(frame);
      return;
    }
    this.frameBytes += line.length + 2;
    if (this.frameBytes > this.maxFrameBytes) throw this.tooLarge();
    const colon = line.indexOf(':');
    const key = colon > 0 ? line.slice(0, colon) : '';
    if (!KEY.test(key) || hasControl(line)) {
      throw new AmiError('protocol', '', `garbage on the AMI connection: the line ${quoteForError(line)} is not "Key: Value"`);
    }
    const rest = line.slice(colon + 1);
    this.fields.push([key, rest.startsWith(' ') ? rest.slice(1) : rest]);
  }

  private tooLarge(): AmiError {
    return new AmiError(
      'protocol',
      '',
      `an AMI frame larger than ${Math.round(this.maxFrameBytes / 1024)} KiB (no end of frame): not an answer to anything this exporter asks`,
    );
  }
}

/** One action as bytes. Values with a line break are refused: they would smuggle in another action. */
export function encodeFrame(fields: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [k, v] of fields) {
    if (!KEY.test(k)) throw new AmiError('not-allowed', '', `refusing to send an AMI header named ${quoteForError(k)}`);
    if (/[\r\n]/.test(v)) throw new AmiError('not-allowed', '', `refusing to send the AMI header ${k} with a line break in its value`);
    out += `${k}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}
