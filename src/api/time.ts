/**
 * PBX time helpers. MikoPBX writes call times as local wall-clock strings without an offset; the
 * only place the API tells the offset is `meta.timestamp` (PHP date('c') in the PBX time zone).
 */

/** Parses the offset of an ISO-8601 timestamp like 2026-04-10T14:22:31+03:00 into minutes east of UTC. */
export function utcOffsetMinutesOf(isoTimestamp: string): number | null {
  const m = /([+-])(\d{2}):?(\d{2})$|Z$/.exec(isoTimestamp.trim());
  if (!m) return null;
  if (m[0] === 'Z') return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 60 + Number(m[3]));
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Converts a PBX-local 'YYYY-MM-DD HH:MM:SS[.mmm]' into Unix seconds; null for '' or garbage. */
export function pbxLocalToUnix(local: string, utcOffsetMinutes: number): number | null {
  const m = LOCAL_RE.exec(local.trim());
  if (!m) return null;
  const frac = m[7] ? Number(`0.${m[7]}`) : 0;
  const utcMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(utcMs)) return null;
  return utcMs / 1000 + frac - utcOffsetMinutes * 60;
}

/** Formats Unix seconds as the PBX-local 'YYYY-MM-DD HH:MM:SS' that the CDR date filters compare as strings. */
export function unixToPbxLocal(unixSeconds: number, utcOffsetMinutes: number): string {
  const d = new Date((Math.floor(unixSeconds) + utcOffsetMinutes * 60) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
