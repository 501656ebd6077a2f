import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { quantile } from './util.ts';
import type { LoadOptions, LoadResult } from './load.ts';

const HEADER_END = Buffer.from('\r\n\r\n');
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * A loopback load test: `connections` keep-alive sockets, each sending the next GET as soon as the
 * previous answer is complete. Answers are framed by Content-Length and their bodies only counted,
 * never decoded or copied. Each socket reads into one buffer of its own, reused for every read
 * (net's `onread`), instead of a new buffer per read with a 'data' event for each: the client must
 * cost less than the servers it compares, or both measure the client. autocannon, used before,
 * decoded every body to a string and was the bottleneck for both servers; this client's first
 * version, with a buffer per read and a copy of the chunk holding each answer's head, still was
 * (both servers then showed the same rate at half a core). Non-200 answers are errors.
 */
async function run(opts: Omit<LoadOptions, 'midway'>): Promise<LoadResult> {
  const url = new URL(opts.url);
  const request = Buffer.from(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${opts.gzip ? 'Accept-Encoding: gzip\r\n' : ''}Connection: keep-alive\r\n\r\n`,
  );
  const latencies: number[] = [];
  let errors = 0;
  let running = true;
  const started = performance.now();
  const stopAt = started + opts.seconds * 1000;

  const connection = () =>
    new Promise<void>((resolve) => {
      /** Bytes of an answer's head seen so far, when it spans reads (rare: heads are small). */
      let head: Buffer | null = null;
      let inHead = true;
      let remaining = 0;
      let sentAt = 0;
      const send = () => {
        if (!running || performance.now() >= stopAt) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        inHead = true;
        socket.write(request);
      };
      /** Reads the head at the start of `data`; the offset of the body, or -1 when the head is not complete. */
      const readHead = (data: Buffer): number => {
        const whole = head ? Buffer.concat([head, data]) : data;
        const end = whole.indexOf(HEADER_END);
        if (end < 0) {
          head = Buffer.from(whole); // a copy: `data` is the reused read buffer
          return -1;
        }
        const text = whole.toString('latin1', 0, end);
        const bodyStart = end + 4 - (head ? head.length : 0);
        head = null;
        inHead = false;
        if (!text.startsWith('HTTP/1.1 200')) errors += 1;
        const length = /\r\ncontent-length: *(\d+)/i.exec(text);
        if (!length) {
          errors += 1;
          socket.destroy();
          return -1;
        }
        remaining = Number(length[1]);
        return bodyStart;
      };
      const socket = net.connect({
        port: Number(url.port),
        host: url.hostname,
        noDelay: true,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
          callback: (nread: number, buf: Uint8Array): boolean => {
            let data = (buf as Buffer).subarray(0, nread);
            while (data.length > 0) {
              if (inHead) {
                const start = readHead(data);
                if (start < 0) return true;
                data = data.subarray(start);
              }
              const take = Math.min(remaining, data.length);
              remaining -= take;
              data = data.subarray(take);
              if (remaining === 0) {
                latencies.push(performance.now() - sentAt);
                send();
              }
            }
            return true;
          },
        },
      });
      socket.on('connect', send);
      socket.on('error', () => {
        errors += 1;
      });
      socket.on('close', () => resolve());
    });

  await Promise.all(Array.from({ length: opts.connections }, connection));
  running = false;
  const elapsedSeconds = (performance.now() - started) / 1000;
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    rps: latencies.length / elapsedSeconds,
    errors,
  };
}

parentPort?.postMessage(await run(workerData as Omit<LoadOptions, 'midway'>));
