import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { quantile } from './util.ts';
import type { LoadOptions, LoadResult } from './load.ts';

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A loopback load test: `connections` keep-alive sockets, each sending the next GET as soon as the
 * previous answer is complete. Answers are framed by Content-Length and their bodies only counted,
 * never decoded: autocannon, used before, appended every body to a string, and decoding 122 KiB of
 * gzip bytes as UTF-8 cost the client more than the servers spent answering (both servers' gzip
 * answers measured slower than their eleven times larger plain ones). Non-200 answers are errors.
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
      const socket = net.connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      let head: Buffer | null = Buffer.alloc(0);
      let remaining = 0;
      let sentAt = 0;
      const send = () => {
        if (!running || performance.now() >= stopAt) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        head = Buffer.alloc(0);
        socket.write(request);
      };
      const done = () => {
        latencies.push(performance.now() - sentAt);
        send();
      };
      socket.on('data', (chunk: Buffer) => {
        let data = chunk;
        while (data.length > 0) {
          if (head !== null) {
            head = Buffer.concat([head, data]);
            const end = head.indexOf(HEADER_END);
            if (end < 0) return;
            const text = head.subarray(0, end).toString('latin1');
            const rest = head.subarray(end + 4);
            head = null;
            if (!text.startsWith('HTTP/1.1 200')) errors += 1;
            const length = /\r\ncontent-length: *(\d+)/i.exec(text);
            if (!length) {
              errors += 1;
              socket.destroy();
              return;
            }
            remaining = Number(length[1]);
            data = rest;
          }
          const take = Math.min(remaining, data.length);
          remaining -= take;
          data = data.subarray(take);
          if (remaining === 0) done();
        }
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
