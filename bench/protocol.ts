// Messages between bench/run.ts and bench/exporter-child.mjs.

/** Commands may carry the benchmark clock (Unix ms); the child's clock never goes back. */
export type ChildCommand =
  | { cmd: 'tick'; clock: number }
  | { cmd: 'status-poll'; clock: number }
  | { cmd: 'cdr-poll'; clock: number }
  | { cmd: 'json-parse'; paths: string[] }
  | { cmd: 'memory' }
  /** Heap in use after a full collection (needs --expose-gc): what is really kept, without GC timing. */
  | { cmd: 'heap-after-gc' }
  | { cmd: 'naive-start' }
  | { cmd: 'stop' };

export type ChildReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** What one tick or poll cost the exporter process. */
export interface StepResult {
  cpuMs: number;
  wallMs: number;
  /** CDR legs counted during it. */
  legs: number;
  /** The child's clock afterwards (budget waits move it). */
  clock: number;
}
