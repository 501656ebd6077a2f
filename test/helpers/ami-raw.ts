import net from 'node:net';

/** A raw AMI session for simulator tests: bytes in, parsed frames out, nothing of the exporter's client. */
export interface RawAmi {
  greeting: string;
  /** sends one action (fields in order) and returns the frames up to and including the one `until` accepts */
  send(fields: Record<string, string>, until?: (frame: Record<string, string>) => boolean, timeoutMs?: number): Promise<Record<string, string>[]>;
  /** frames received so far that no send() took */
  unsolicited: Record<string, string>[];
  closed: Promise<void>;
  close(): void;
}

export function rawAmi(port: number, host = '127.0.0.1'): Promise<RawAmi> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.setEncoding('utf8');
    let buf = '';
    let greeting: string | null = null;
    const frames: Record<string, string>[] = [];
    let waiter: (() => void) | null = null;
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', reject);
    socket.on('data', (t: string) => {
      buf += t;
      if (greeting === null) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        greeting = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        resolve(api);
      }
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const block = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const f: Record<string, string> = {};
        for (const line of block.split('\r\n')) {
          const i = line.indexOf(': ');
          f[line.slice(0, i)] = line.slice(i + 2);
        }
        frames.push(f);
      }
      waiter?.();
    });
    const api: RawAmi = {
      get greeting() {
        return greeting ?? '';
      },
      unsolicited: frames,
      closed,
      close: () => socket.destroy(),
      async send(fields, until = (f) => 'Response' in f, timeoutMs = 5000) {
        socket.write(
          `${Object.entries(fields)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('')}\r\n`,
        );
        const id = fields.ActionID;
        const out: Record<string, string>[] = [];
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          while (frames.length > 0) {
            const i = frames.findIndex((f) => id === undefined || f.ActionID === id);
            if (i < 0) break;
            const [f] = frames.splice(i, 1) as [Record<string, string>];
            out.push(f);
            if (until(f)) return out;
          }
          if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(fields)}; got ${JSON.stringify(out)}`);
          await new Promise<void>((r) => {
            waiter = r;
            setTimeout(r, 50);
          });
        }
      },
    };
  });
}

export const listDone = (complete: string) => (f: Record<string, string>) => f.Event === complete || f.Response === 'Error';
