// PBX health as the system collector sees it (mikopbx-monitoring-sources.md §1.1, 1.3–1.5),
// parsed and converted at the edge: bytes, not the PBX's MB; jails without the API's `_v2`.

/** Disk categories MikoPBX measures (Storage::getStorageUsageByCategory); always exported. */
export const STORAGE_CATEGORIES = ['call_recordings', 'cdr_database', 'system_logs', 'modules', 'backups', 'system_caches', 's3_cache', 'other'] as const;

export interface StorageUsage {
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** By category name: the known ones, and any other the PBX reports under a safe name. */
  categories: Map<string, number>;
  /** null where the PBX did not report remote storage. */
  s3: { enabled: boolean; bytes: number } | null;
}

export const ADVICE_LEVELS = ['error', 'warning', 'info'] as const;
export type AdviceLevel = (typeof ADVICE_LEVELS)[number];

/** The templates MikoPBX's advice checks emit, by level (WorkerPrepareAdvice/*.php). */
export const ADVICE_TEMPLATES: Readonly<Record<AdviceLevel, readonly string[]>> = {
  error: [
    'adv_DockerVolumePermissionIssues',
    'adv_YouUseDefaultWebPassword',
    'adv_YouUseDefaultSSHPassword',
    'adv_SSHPPasswordCorrupt',
    'adv_StorageDiskRunningOutOfFreeSpace',
    'adv_StorageDiskUnMounted',
    'adv_S3ConnectionFailed',
    'adv_S3ClientInitializationFailed',
    'adv_S3CheckUnexpectedError',
    'adv_SecurityLogCriticalGrowth',
    'adv_AsteriskLogCriticalGrowth',
    'adv_SSHPasswordMismatchFilesHash',
  ],
  warning: [
    'adv_ProblemWithInternetConnection',
    'adv_SystemBrokenComment',
    'adv_SshPasswordWeak',
    'adv_FirewallDisabled',
    'adv_SipPasswordWeak',
    'adv_AmiPasswordWeak',
    'adv_AriPasswordWeak',
    'adv_S3EnabledButNotConfigured',
    'adv_SecurityLogSuspiciousGrowth',
    'adv_AsteriskLogSuspiciousGrowth',
  ],
  info: ['adv_AvailableNewVersionPBX', 'adv_AvailableNewVersionModule'],
};

export interface AdviceEntry {
  level: AdviceLevel;
  /** The message template: a known one, one of MikoPBX's `adv_…` names, or `other`. */
  template: string;
}

export interface AdviceList {
  entries: AdviceEntry[];
  /** The PBX version offered by adv_AvailableNewVersionPBX, or null. */
  updateVersion: string | null;
}

/** fail2ban jails of MikoPBX (Fail2BanConf.php); always exported. Module jails come on top. */
export const JAILS = ['dropbear', 'mikopbx-www', 'asterisk_security_log', 'asterisk_error', 'asterisk_public', 'asterisk_ami', 'asterisk_iax'] as const;

/** Active bans counted by jail (one per IP and jail). */
export type BansByJail = Map<string, number>;

export interface PbxClock {
  /** PBX time (Unix seconds, whole seconds as the PBX reports it). */
  pbxSeconds: number;
}
