// PBX health: disk usage by category (storage:usage), advice (advice:getList), fail2ban bans
// (firewall:getBannedIps) and the PBX clock skew (system:datetime). State, API views and the truth.

import type { PbxClock } from './clock.js';
import { Rng } from './random.js';

/** storage:usage categories except `other` (which is derived) */
export const STORAGE_CATEGORIES = ['call_recordings', 'cdr_database', 'system_logs', 'modules', 'backups', 'system_caches', 's3_cache'] as const;
export type StorageCategory = (typeof STORAGE_CATEGORIES)[number];
export type StorageCategoryOrOther = StorageCategory | 'other';

/** fail2ban jails of Fail2BanConf (the API appends `_v2`) */
export const JAILS = ['dropbear', 'mikopbx-www', 'asterisk_security_log', 'asterisk_error', 'asterisk_public', 'asterisk_ami', 'asterisk_iax'] as const;
export type Jail = (typeof JAILS)[number];

export const ADVICE_LEVELS = ['error', 'warning', 'info'] as const;
export type AdviceLevel = (typeof ADVICE_LEVELS)[number];

export interface AdviceEntry {
  level: AdviceLevel;
  messageTpl: string;
  messageParams: Record<string, unknown>;
}

export interface BanOptions {
  /** unix seconds the ban ends (default: since + 600, fail2ban's bantime) */
  until?: number;
  /** unix seconds the ban began (default: now) */
  since?: number;
  country?: string;
  countryName?: string;
}

export interface S3Options {
  filesCount?: number;
  bucket?: string;
  endpoint?: string;
}

interface Ban {
  ip: string;
  jail: string;
  timeofban: number;
  timeunban: number;
}

export interface StorageTruth {
  /** the PBX has not computed storage usage yet: no disk values to report */
  pending: boolean;
  /** bytes (API MB × 1024 × 1024, from the 0.1-rounded MB the API shows); null while pending */
  totalBytes: number | null;
  usedBytes: number | null;
  freeBytes: number | null;
  /** 0–100 as the API shows it; null while pending */
  usagePercent: number | null;
  /** bytes per category, `other` included (may be negative); {} while pending */
  categories: Partial<Record<StorageCategoryOrOther, number>>;
  /** null while pending (the placeholder has no remote_storage) */
  s3: { enabled: boolean; bytes: number; files: number } | null;
}

export interface HealthTruth {
  /** simulator clock, unix ms */
  at: number;
  storage: StorageTruth;
  /** entries per level (always all three levels) */
  adviceByLevel: Record<AdviceLevel, number>;
  /** entries per level and messageTpl (levels always present, templates only when > 0) */
  advice: Record<AdviceLevel, Record<string, number>>;
  needUpdate: string[];
  /** active bans per jail, without the `_v2` suffix; every known jail present (0 when none) */
  bansByJail: Record<string, number>;
  /** active bans (ip × jail) */
  bansTotal: number;
  /** distinct IPs with an active ban */
  bannedIps: number;
  /** PBX clock minus simulator clock, seconds (system:datetime) */
  clockSkewSeconds: number;
}

const MB = 1024 * 1024;
const BAN_SECONDS = 600;

/** PHP round($x, 1): half away from zero, no -0 */
export function round1(x: number): number {
  const r = (Math.sign(x) * Math.round(Math.abs(x) * 10)) / 10;
  return r === 0 ? 0 : r;
}

const ROOT = '/storage/usbdisk1/mikopbx';
const CATEGORY_PATHS: Record<StorageCategoryOrOther, string[]> = {
  call_recordings: [`${ROOT}/astspool/monitor`, `${ROOT}/voicemailarchive`],
  cdr_database: [`${ROOT}/astlogs/asterisk/cdr.db`],
  system_logs: [`${ROOT}/log`, `${ROOT}/astlogs`],
  modules: [`${ROOT}/custom_modules`],
  backups: [`${ROOT}/backup`],
  system_caches: [`${ROOT}/tmp`, `${ROOT}/media/cache`],
  s3_cache: [`${ROOT}/s3cache`],
  other: [],
};

const COUNTRIES: readonly [string, string][] = [
  ['NL', 'Netherlands'],
  ['CN', 'China'],
  ['US', 'United States'],
  ['RU', 'Russia'],
  ['DE', 'Germany'],
  ['BR', 'Brazil'],
];

const stripV2 = (jail: string): string => (jail.endsWith('_v2') ? jail.slice(0, -3) : jail);

function finite(name: string, v: number, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}`);
  return v;
}

export class PbxHealth {
  private totalMb = 51200;
  private usedMb = 0;
  private readonly categoryMb: Record<StorageCategory, number>;
  private pending = false;
  private s3 = { enabled: false, sizeMb: 0, filesCount: 0, bucket: '', endpoint: '' };
  private adviceList: AdviceEntry[] = [];
  private needUpdate: string[] = [];
  private readonly bans = new Map<string, Ban>();
  private readonly countries = new Map<string, { country: string; countryName: string }>();
  private skewSeconds = 0;

  constructor(
    private readonly clock: PbxClock,
    seed: number,
  ) {
    const rng = Rng.derive(seed, 'health');
    // 50 GiB disk, about 20 % used: recordings and logs are the big ones, no backups, no S3
    this.usedMb = round1(51200 * (0.18 + rng.next() * 0.04));
    this.categoryMb = {
      call_recordings: round1(this.usedMb * (0.55 + rng.next() * 0.1)),
      cdr_database: round1(20 + rng.next() * 60),
      system_logs: round1(150 + rng.next() * 300),
      modules: 0,
      backups: 0,
      system_caches: 0,
      s3_cache: 0,
    };
  }

  private nowSeconds(): number {
    return this.clock.now() / 1000;
  }

  // ---------- controls ----------

  /** disk size and used space, MB; categories are kept (`other` absorbs the difference) */
  setDiskUsage(totalMb: number, usedMb: number): void {
    finite('totalMb', totalMb);
    finite('usedMb', usedMb);
    if (usedMb > totalMb) throw new Error('usedMb must not exceed totalMb');
    this.totalMb = totalMb;
    this.usedMb = usedMb;
  }

  /** size of one category, MB (used space is not changed: `other` absorbs it) */
  setCategory(category: StorageCategory, sizeMb: number): void {
    if (!STORAGE_CATEGORIES.includes(category)) throw new Error(`category must be one of ${STORAGE_CATEGORIES.join(', ')}`);
    this.categoryMb[category] = finite('sizeMb', sizeMb);
  }

  /** moves up to `mb` MB of free space into call_recordings; returns the MB actually moved */
  fillMb(mb: number): number {
    finite('mb', mb);
    const moved = Math.min(mb, this.totalMb - this.usedMb);
    this.usedMb += moved;
    this.categoryMb.call_recordings += moved;
    return moved;
  }

  /** true: storage:usage answers the "not computed yet" placeholder */
  setStoragePending(pending: boolean): void {
    this.pending = pending;
  }

  enableS3(sizeMb: number, opts: S3Options = {}): void {
    this.s3 = {
      enabled: true,
      sizeMb: finite('sizeMb', sizeMb),
      filesCount: opts.filesCount ?? Math.round(sizeMb * 2),
      bucket: opts.bucket ?? 'mikopbx-recordings',
      endpoint: opts.endpoint ?? 'https://s3.eu-central-1.amazonaws.com',
    };
  }

  disableS3(): void {
    this.s3 = { enabled: false, sizeMb: 0, filesCount: 0, bucket: '', endpoint: '' };
  }

  addAdvice(level: AdviceLevel, messageTpl: string, messageParams: Record<string, unknown> = {}): void {
    if (!ADVICE_LEVELS.includes(level)) throw new Error(`level must be one of ${ADVICE_LEVELS.join(', ')}`);
    this.adviceList.push({ level, messageTpl, messageParams: { ...messageParams } });
  }

  /** removes every entry with this template (at this level, or at any level); returns how many */
  removeAdvice(messageTpl: string, level?: AdviceLevel): number {
    const before = this.adviceList.length;
    this.adviceList = this.adviceList.filter((a) => !(a.messageTpl === messageTpl && (level === undefined || a.level === level)));
    return before - this.adviceList.length;
  }

  clearAdvice(): void {
    this.adviceList = [];
    this.needUpdate = [];
  }

  /** the `needUpdate` string markers (e.g. `WebAdminPassword`); [] removes them */
  setNeedUpdate(markers: string[]): void {
    this.needUpdate = [...markers];
  }

  /** bans `ip` in `jail` (with or without `_v2`); banning again in the same jail replaces the ban */
  banIp(ip: string, jail: string, opts: BanOptions = {}): void {
    const name = stripV2(jail);
    const since = opts.since ?? Math.floor(this.nowSeconds());
    const until = opts.until ?? since + BAN_SECONDS;
    this.bans.set(`${ip}|${name}`, { ip, jail: name, timeofban: since, timeunban: until });
    const prev = this.countries.get(ip);
    let h = 0;
    for (const c of ip) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    const [defCode, defName] = COUNTRIES[h % COUNTRIES.length] as [string, string];
    const country = opts.country ?? prev?.country ?? defCode;
    const countryName =
      opts.countryName ?? (opts.country === undefined ? (prev?.countryName ?? defName) : (COUNTRIES.find(([c]) => c === opts.country)?.[1] ?? opts.country));
    this.countries.set(ip, { country, countryName });
  }

  /** lifts the ban in one jail, or every ban of the IP; returns how many were removed */
  unbanIp(ip: string, jail?: string): number {
    let n = 0;
    for (const [k, b] of this.bans) {
      if (b.ip === ip && (jail === undefined || b.jail === stripV2(jail))) {
        this.bans.delete(k);
        n++;
      }
    }
    return n;
  }

  /** PBX clock minus simulator clock, seconds (what system:datetime shows) */
  setClockSkew(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new Error('seconds must be a finite number');
    this.skewSeconds = seconds;
  }

  // ---------- API views ----------

  private otherMb(): number {
    return this.usedMb - STORAGE_CATEGORIES.reduce((s, c) => s + this.categoryMb[c], 0);
  }

  /** storage:usage `data` */
  storageUsage(): Record<string, unknown> {
    if (this.pending) return { pending: true, total_size: 0, used_space: 0, free_space: 0, usage_percentage: 0, categories: {} };
    const total = this.totalMb;
    const pct = (mb: number): number => (total > 0 ? round1((mb / total) * 100) : 0);
    const rows: [StorageCategoryOrOther, number][] = STORAGE_CATEGORIES.map((c): [StorageCategoryOrOther, number] => [c, this.categoryMb[c]]);
    rows.push(['other', this.otherMb()]);
    rows.sort((a, b) => b[1] - a[1]); // uasort by size desc (stable)
    const categories: Record<string, unknown> = {};
    for (const [name, mb] of rows) categories[name] = { size: round1(mb), percentage: pct(mb), paths: CATEGORY_PATHS[name] };
    return {
      total_size: round1(total),
      used_space: round1(this.usedMb),
      free_space: round1(total - this.usedMb),
      usage_percentage: pct(this.usedMb),
      categories,
      remote_storage: {
        s3: { enabled: this.s3.enabled, size: round1(this.s3.sizeMb), files_count: this.s3.filesCount, bucket: this.s3.bucket, endpoint: this.s3.endpoint },
      },
    };
  }

  /** advice:getList `data`: levels without entries are absent, and no advice at all is `[]` */
  adviceView(): Record<string, unknown> {
    const advice: Record<string, unknown> = {};
    for (const level of ADVICE_LEVELS) {
      const list = this.adviceList.filter((a) => a.level === level).map((a) => ({ messageTpl: a.messageTpl, messageParams: a.messageParams }));
      if (list.length > 0) advice[level] = list;
    }
    if (this.needUpdate.length > 0) advice.needUpdate = [...this.needUpdate];
    return { advice: Object.keys(advice).length > 0 ? advice : [] };
  }

  private activeBans(): Ban[] {
    const now = this.nowSeconds();
    return [...this.bans.values()].filter((b) => b.timeunban > now);
  }

  /** firewall:getBannedIps `data`: map keyed by IP (`{}` → `[]` on the wire) */
  bannedIps(): Record<string, unknown> {
    const out: Record<string, { country: string; countryName: string; bans: unknown[] }> = {};
    for (const b of this.activeBans()) {
      const c = this.countries.get(b.ip) ?? { country: '', countryName: '' };
      const row = (out[b.ip] ??= { country: c.country, countryName: c.countryName, bans: [] });
      row.bans.push({ jail: `${b.jail}_v2`, timeofban: b.timeofban, timeunban: b.timeunban, v: '2' });
    }
    return out;
  }

  /** system:datetime `timestamp` */
  pbxUnix(): number {
    return Math.floor(this.nowSeconds() + this.skewSeconds);
  }

  // ---------- truth ----------

  truth(): HealthTruth {
    const usage = this.storageUsage();
    let storage: StorageTruth;
    if (this.pending) {
      storage = { pending: true, totalBytes: null, usedBytes: null, freeBytes: null, usagePercent: null, categories: {}, s3: null };
    } else {
      const categories: Partial<Record<StorageCategoryOrOther, number>> = {};
      for (const [name, v] of Object.entries(usage.categories as Record<string, { size: number }>)) categories[name as StorageCategoryOrOther] = v.size * MB;
      storage = {
        pending: false,
        totalBytes: (usage.total_size as number) * MB,
        usedBytes: (usage.used_space as number) * MB,
        freeBytes: (usage.free_space as number) * MB,
        usagePercent: usage.usage_percentage as number,
        categories,
        s3: { enabled: this.s3.enabled, bytes: round1(this.s3.sizeMb) * MB, files: this.s3.filesCount },
      };
    }
    const adviceByLevel = { error: 0, warning: 0, info: 0 };
    const advice: Record<AdviceLevel, Record<string, number>> = { error: {}, warning: {}, info: {} };
    for (const a of this.adviceList) {
      adviceByLevel[a.level]++;
      advice[a.level][a.messageTpl] = (advice[a.level][a.messageTpl] ?? 0) + 1;
    }
    const bansByJail: Record<string, number> = Object.fromEntries(JAILS.map((j) => [j, 0]));
    const active = this.activeBans();
    for (const b of active) bansByJail[b.jail] = (bansByJail[b.jail] ?? 0) + 1;
    return {
      at: this.clock.now(),
      storage,
      adviceByLevel,
      advice,
      needUpdate: [...this.needUpdate],
      bansByJail,
      bansTotal: active.length,
      bannedIps: new Set(active.map((b) => b.ip)).size,
      clockSkewSeconds: this.skewSeconds,
    };
  }
}

/** /__sim/health/{op} control requests; returns the body to answer with, or throws */
export function healthControl(h: PbxHealth, method: string, op: string, input: Record<string, unknown>): unknown {
  const num = (k: string): number => {
    const v = input[k];
    if (typeof v !== 'number') throw new Error(`${k} must be a number`);
    return v;
  };
  const str = (k: string): string => {
    const v = input[k];
    if (typeof v !== 'string') throw new Error(`${k} must be a string`);
    return v;
  };
  const optNum = (k: string): number | undefined => (input[k] === undefined ? undefined : num(k));
  switch (`${method} ${op}`) {
    case 'POST disk':
      if (input.fillMb !== undefined) return { movedMb: h.fillMb(num('fillMb')) };
      h.setDiskUsage(num('totalMb'), num('usedMb'));
      return { ok: true };
    case 'POST category':
      h.setCategory(str('category') as StorageCategory, num('sizeMb'));
      return { ok: true };
    case 'POST pending':
      h.setStoragePending(input.pending !== false);
      return { ok: true };
    case 'POST s3': {
      if (input.enabled === false) h.disableS3();
      else {
        const filesCount = optNum('filesCount');
        h.enableS3(num('sizeMb'), {
          ...(filesCount !== undefined ? { filesCount } : {}),
          ...(typeof input.bucket === 'string' ? { bucket: input.bucket } : {}),
          ...(typeof input.endpoint === 'string' ? { endpoint: input.endpoint } : {}),
        });
      }
      return { ok: true };
    }
    case 'POST advice':
      h.addAdvice(str('level') as AdviceLevel, str('messageTpl'), (input.messageParams ?? {}) as Record<string, unknown>);
      return { ok: true };
    case 'DELETE advice':
      if (input.messageTpl === undefined) {
        h.clearAdvice();
        return { ok: true };
      }
      return { removed: h.removeAdvice(str('messageTpl'), input.level === undefined ? undefined : (str('level') as AdviceLevel)) };
    case 'POST needUpdate':
      if (!Array.isArray(input.markers) || !input.markers.every((m) => typeof m === 'string')) throw new Error('markers must be a list of strings');
      h.setNeedUpdate(input.markers as string[]);
      return { ok: true };
    case 'POST ban': {
      const until = optNum('until');
      const since = optNum('since');
      h.banIp(str('ip'), str('jail'), {
        ...(until !== undefined ? { until } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(typeof input.country === 'string' ? { country: input.country } : {}),
        ...(typeof input.countryName === 'string' ? { countryName: input.countryName } : {}),
      });
      return { ok: true };
    }
    case 'DELETE ban':
      return { removed: h.unbanIp(str('ip'), input.jail === undefined ? undefined : str('jail')) };
    case 'POST skew':
      h.setClockSkew(num('seconds'));
      return { ok: true };
    default:
      return undefined;
  }
}
