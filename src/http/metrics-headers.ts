// A leaf module (no imports): the scrape front's worker thread loads it as it is, also from the
// TypeScript sources in tests.

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Headers of every exposition answer, name, value, name, value (Content-Length aside). */
export const METRICS_HEADERS: readonly string[] = ['content-type', METRICS_CONTENT_TYPE, 'cache-control', 'no-store', 'vary', 'accept-encoding'];

/** The same for a gzip answer. */
export const GZIP_METRICS_HEADERS: readonly string[] = [...METRICS_HEADERS, 'content-encoding', 'gzip'];
