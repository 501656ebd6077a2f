import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

export interface Scrape {
  ms: number;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One scrape as Prometheus makes it (keep-alive; gzip when asked), timed to the last byte. */
export function scrape(url: string, gzip: boolean): Promise<Scrape> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export function closeScrapeAgent(): void {
  agent.destroy();
}
