// PBX wall clock: a fixed UTC offset (the PBX time zone) over an injectable ms clock.

const pad2 = (n: number): string => String(n).padStart(2, '0');
const pad3 = (n: number): string => String(n).padStart(3, '0');

export class PbxClock {
  constructor(
    private readonly nowFn: () => number,
    readonly tzOffsetMinutes: number,
  ) {}

  now(): number {
    return this.nowFn();
  }

  unix(ms: number = this.now()): number {
    return Math.floor(ms / 1000);
  }

  private shifted(ms: number): Date {
    return new Date(ms + this.tzOffsetMinutes * 60_000);
  }

  /** `YYYY-MM-DD` in PBX local time */
  localDate(ms: number = this.now()): string {
    const d = this.shifted(ms);
    return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  }

  /** `YYYY-MM-DD HH:MM:SS` in PBX local time */
  localSeconds(ms: number = this.now()): string {
    const d = this.shifted(ms);
    return `${this.localDate(ms)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  }

  /** `YYYY-MM-DD HH:MM:SS.mmm` in PBX local time: the CDR format */
  local(ms: number = this.now()): string {
    return `${this.localSeconds(ms)}.${pad3(this.shifted(ms).getUTCMilliseconds())}`;
  }

  /** PHP `date('c')` in the PBX time zone, e.g. `2026-04-10T14:22:31+03:00` */
  iso(ms: number = this.now()): string {
    const off = this.tzOffsetMinutes;
    const sign = off < 0 ? '-' : '+';
    const abs = Math.abs(off);
    return `${this.localSeconds(ms).replace(' ', 'T')}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  }

  /** unix ms of a PBX-local wall-clock time */
  fromLocalParts(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, msec = 0): number {
    return Date.UTC(y, mo - 1, d, h, mi, s, msec) - this.tzOffsetMinutes * 60_000;
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
    const m =
      /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(z|[+-]\d{2}:?\d{2})?$/.exec(s);
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
      ms -= this.tzOffsetMinutes * 60_000;
    } else if (tz !== 'z') {
      const sign = tz.startsWith('-') ? -1 : 1;
      const digits = tz.slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    return ms;
  }
}
