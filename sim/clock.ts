// PBX wall clock: the PBX time zone's UTC offset over an injectable ms clock. The offset is fixed,
// or a function of the instant (a zone with DST): every local time is written with the offset in
// force at that instant, as PHP's date() and Asterisk's CDR do.

const pad2 = (n: number): string => String(n).padStart(2, '0');
const pad3 = (n: number): string => String(n).padStart(3, '0');
const TWO = Array.from({ length: 60 }, (_, i) => pad2(i));
const THREE = Array.from({ length: 1000 }, (_, i) => pad3(i));

/** UTC offset in minutes: fixed, or the offset in force at a unix ms instant. */
export type TzOffset = number | ((unixMs: number) => number);

export class PbxClock {
  private readonly offsetAt: (unixMs: number) => number;

  constructor(
    private readonly nowFn: () => number,
    tz: TzOffset,
  ) {
    this.offsetAt = typeof tz === 'number' ? () => tz : tz;
  }

  now(): number {
    return this.nowFn();
  }

  /** the UTC offset in force now, minutes */
  get tzOffsetMinutes(): number {
    return this.offsetAt(this.now());
  }

  unix(ms: number = this.now()): number {
    return Math.floor(ms / 1000);
  }

  private shifted(ms: number): Date {
    return new Date(ms + this.offsetAt(ms) * 60_000);
  }

  /** `YYYY-MM-DD` in PBX local time */
  localDate(ms: number = this.now()): string {
    const d = this.shifted(ms);
    return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  }

  private cachedDay = NaN;
  private cachedDayText = '';

  /** `YYYY-MM-DD HH:MM:SS` in PBX local time */
  localSeconds(ms: number = this.now()): string {
    return this.local(ms).slice(0, 19);
  }

  /** `YYYY-MM-DD HH:MM:SS.mmm` in PBX local time: the CDR format (hot path: no Date per call) */
  local(ms: number = this.now()): string {
    const t = Math.floor(ms) + this.offsetAt(ms) * 60_000;
    const day = Math.floor(t / 86_400_000);
    if (day !== this.cachedDay) {
      this.cachedDay = day;
      this.cachedDayText = this.localDate(ms);
    }
    let rem = t - day * 86_400_000;
    const h = Math.floor(rem / 3_600_000);
    rem -= h * 3_600_000;
    const mi = Math.floor(rem / 60_000);
    rem -= mi * 60_000;
    const sec = Math.floor(rem / 1000);
    return `${this.cachedDayText} ${TWO[h]}:${TWO[mi]}:${TWO[sec]}.${THREE[rem - sec * 1000]}`;
  }

  /** PHP `date('c')` in the PBX time zone, e.g. `2026-04-10T14:22:31+03:00` */
  iso(ms: number = this.now()): string {
    const off = this.offsetAt(ms);
    const sign = off < 0 ? '-' : '+';
    const abs = Math.abs(off);
    return `${this.localSeconds(ms).replace(' ', 'T')}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  }

  /** unix ms of a PBX-local wall-clock time */
  fromLocalParts(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, msec = 0): number {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s, msec);
    return wall - this.offsetAt(wall - this.tzOffsetMinutes * 60_000) * 60_000;
  }

  /**
   * A subset of what PHP `new DateTime($s)` accepts, in the PBX time zone.
   * Returns null where PHP would throw.
   */
  parsePhpDate(input: string): number | null {
    const s = input.trim().toLowerCase();
    const now = this.now();
    const midnight = (ms: number): number => {
      const [y, m, d] = this.localDate(ms).split('-').map(Number) as [number, number, number];
      return this.fromLocalParts(y, m, d);
    };
    if (s === 'now' || s === '') return now;
    if (s === 'today' || s === 'midnight') return midnight(now);
    if (s === 'yesterday') return midnight(now) - 86_400_000;
    if (s === 'tomorrow') return midnight(now) + 86_400_000;
    const at = /^@(-?\d+)$/.exec(s);
    if (at) return Number(at[1]) * 1000;
    const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(z|[+-]\d{2}:?\d{2})?$/.exec(s);
    if (!m) return null;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const h = m[4] === undefined ? 0 : Number(m[4]);
    const mi = m[5] === undefined ? 0 : Number(m[5]);
    const sec = m[6] === undefined ? 0 : Number(m[6]);
    const frac = m[7] === undefined ? 0 : Number(`0.${m[7]}`);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60) return null;
    let ms = Date.UTC(y, mo - 1, d, h, mi, sec, Math.round(frac * 1000));
    const tz = m[8];
    if (tz === undefined) {
      ms -= this.offsetAt(ms - this.tzOffsetMinutes * 60_000) * 60_000;
    } else if (tz !== 'z') {
      const sign = tz.startsWith('-') ? -1 : 1;
      const digits = tz.slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return ms;
  }
}
