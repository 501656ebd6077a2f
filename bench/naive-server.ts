import http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Registry } from 'prom-client';

/**
 * The common prom-client pattern, for comparison: every scrape renders the registries
 * (`registry.metrics()`) and, when asked, gzips the text. Same process, same registry contents
 * as the exporter under test.
 */
export async function startNaiveServer(registries: Registry[]): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      let text = '';
      for (const r of registries) text += await r.metrics();
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? gzipSync(text) : text;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
