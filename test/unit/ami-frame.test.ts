import { describe, expect, it } from 'vitest';
import { AmiError } from '../../src/api/ami/errors.js';
import { encodeFrame, FrameParser, type AmiFrame } from '../../src/api/ami/frame.js';
import { amiFixture, framesOf, greetingOf } from '../helpers/ami.js';

describe('AMI greeting', () => {
  it('accepts Asterisk and PBX Call Manager banners and reads the AMI version', () => {
    expect(greetingOf(amiFixture('greeting-asterisk'))).toEqual({ product: 'Asterisk', version: '11.0.0' });
    expect(greetingOf(amiFixture('greeting-asterisk-20'))).toEqual({ product: 'Asterisk', version: '9.0.0' });
    expect(greetingOf(amiFixture('greeting-pbx'))).toEqual({ product: 'PBX', version: '11.0.0' });
    expect(greetingOf('Asterisk Call Manager/11.0.0\n')).toEqual({ product: 'Asterisk', version: '11.0.0' });
  });

  it('refuses anything else with a clear error quoting what came', () => {
    for (const first of ['HTTP/1.1 400 Bad Request\r\n', 'SSH-2.0-OpenSSH_9.6\r\n', 'Asterisk Call Manager\r\n', 'asterisk call manager/1.1\r\n']) {
      let err: unknown;
      try {
        greetingOf(first);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AmiError);
      expect((err as AmiError).kind).toBe('greeting');
      expect((err as AmiError).message).toContain(JSON.stringify(first.trim()));
    }
  });
});

describe('AMI frame parser', () => {
  it('splits frames at the empty line, whatever the chunking (one byte at a time too)', () => {
    const text = amiFixture('queue-summary');
    for (const chunk of [Infinity, 1, 2, 7, 64]) {
      const frames = framesOf(text, chunk);
      expect(frames.map((f) => f.get('Event') ?? f.get('Response'))).toEqual(['Success', 'QueueSummary', 'QueueSummary', 'QueueSummaryComplete']);
      expect(frames[1]?.get('LongestHoldTime')).toBe('41');
    }
  });

  it('tolerates bare \\n line ends and stray blank lines', () => {
    const crlf = framesOf(amiFixture('queue-status'));
    const lf = framesOf(`\n\n${amiFixture('queue-status').replace(/\r\n/g, '\n')}\n\n`);
    expect(lf.map((f) => f.fields)).toEqual(crlf.map((f) => f.fields));
    expect(lf).toHaveLength(10);
  });

  it('keeps values that contain ": ", empty values, UTF-8 split across chunks, and case-insensitive keys', () => {
    const frames = framesOf(amiFixture('queue-status'), 3);
    const paused = frames.find((f) => f.get('Name') === '202') as AmiFrame;
    expect(paused.get('PausedReason')).toBe('Lunch: back at 14:30');
    expect(paused.get('pausedreason')).toBe('Lunch: back at 14:30');
    const idle = frames.find((f) => f.get('Name') === '203') as AmiFrame;
    expect(idle.get('PausedReason')).toBe('');
    expect(frames.find((f) => f.get('Position') === '2')?.get('CallerIDName')).toBe('Иван Петров');
    const unknown = framesOf(amiFixture('unknown-command'))[0] as AmiFrame;
    expect(unknown.get('Message')).toBe('Invalid/unknown command: QueueRest. Use Action: ListCommands to show available commands.');
  });

  it('keeps repeated keys in order (Output: lines)', () => {
    const [f] = framesOf('Response: Success\r\nActionID: 1\r\nOutput: Name/username  Host\r\nOutput: 201/201  10.0.0.5\r\nOutput: 2 sip peers\r\n\r\n') as [
      AmiFrame,
    ];
    expect(f.get('Output')).toBe('Name/username  Host');
    expect(f.all('output')).toEqual(['Name/username  Host', '201/201  10.0.0.5', '2 sip peers']);
    expect(f.all('Missing')).toEqual([]);
  });

  it('drops garbage: a line that is not "Key: Value", binary bytes', () => {
    for (const junk of [
      'Response: Success\r\nthis is not a header\r\n\r\n',
      'Response: Success\r\nKey: a\u0000b\r\n\r\n',
      '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003\r\n',
    ]) {
      expect(() => framesOf(junk)).toThrow(/garbage on the AMI connection/);
    }
  });

  it('drops a frame above the size limit, with or without line ends, and stays failed', () => {
    const frames: AmiFrame[] = [];
    const parser = new FrameParser(
      () => undefined,
      (f) => frames.push(f),
      1024,
    );
    parser.push(Buffer.from('Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n'));
    expect(frames).toHaveLength(1);
    expect(() => parser.push(Buffer.from(`Event: X\r\n${'Key: 0123456789\r\n'.repeat(70)}`))).toThrow(/larger than 1 KiB/);
    expect(() => parser.push(Buffer.from('\r\n'))).toThrow(/larger than 1 KiB/);

    const noNewline = new FrameParser(
      () => undefined,
      () => undefined,
      1024,
    );
    noNewline.push(Buffer.from('Asterisk Call Manager/11.0.0\r\n'));
    expect(() => noNewline.push(Buffer.alloc(2000, 0x41))).toThrow(/larger than 1 KiB/);
  });
});

describe('AMI action encoding', () => {
  it('writes CRLF lines and a closing empty line', () => {
    expect(
      encodeFrame([
        ['Action', 'Ping'],
        ['ActionID', 'x-1'],
      ]),
    ).toBe('Action: Ping\r\nActionID: x-1\r\n\r\n');
  });

  it('refuses a value with a line break (it would smuggle in a second action)', () => {
    expect(() =>
      encodeFrame([
        ['Action', 'Ping'],
        ['Queue', 'x\r\n\r\nAction: QueueReset'],
      ]),
    ).toThrow(/line break/);
    expect(() => encodeFrame([['Bad Key', 'x']])).toThrow(/header named/);
  });
});
