// Asterisk core state as CoreStatus and CoreSettings report it (main/manager.c, Asterisk 22).

import type { PbxClock } from '../clock.js';

export interface CoreTruth {
  /** Unix seconds (whole: CoreStatus prints seconds) */
  startTimeSeconds: number;
  reloadTimeSeconds: number;
  currentCalls: number;
  /** CoreProcessedCalls as Asterisk reports it: since the last restart */
  processedCalls: number;
  /** never reset: what a monotonic exporter counter shows when it saw every restart */
  processedCallsTotal: number;
  asteriskVersion: string;
}

export class AsteriskCore {
  startMs: number;
  reloadMs: number;
  processedCalls = 0;
  processedCallsTotal = 0;
  asteriskVersion = '22.7.0';
  amiVersion = '11.0.0';
  /** false models Asterisk before 20.12 / 22.2: no CoreProcessedCalls line */
  reportsProcessedCalls = true;

  constructor(
    private readonly clock: PbxClock,
    /** calls in progress now (CoreCurrentCalls) */
    private readonly currentCalls: () => number,
    uptimeMs = 3 * 86_400_000 + 4_321_000,
  ) {
    this.startMs = clock.now() - uptimeMs;
    this.reloadMs = this.startMs + Math.floor(uptimeMs / 2);
    this.processedCalls = this.processedCallsTotal = 1500;
  }

  callStarted(): void {
    this.processedCalls++;
    this.processedCallsTotal++;
  }

  reload(): void {
    this.reloadMs = this.clock.now();
  }

  restart(): void {
    this.startMs = this.reloadMs = this.clock.now();
    this.processedCalls = 0;
  }

  /** `YYYY-MM-DD` and `HH:MM:SS` in the PBX's local time, no zone (as ast_localtime + strftime) */
  localParts(ms: number): [date: string, time: string] {
    const [date, time] = this.clock.localSeconds(ms).split(' ') as [string, string];
    return [date, time];
  }

  statusFields(): [string, string][] {
    const [sd, st] = this.localParts(this.startMs);
    const [rd, rt] = this.localParts(this.reloadMs);
    const fields: [string, string][] = [
      ['CoreStartupDate', sd],
      ['CoreStartupTime', st],
      ['CoreReloadDate', rd],
      ['CoreReloadTime', rt],
      ['CoreCurrentCalls', String(this.currentCalls())],
    ];
    if (this.reportsProcessedCalls) fields.push(['CoreProcessedCalls', String(this.processedCalls)]);
    return fields;
  }

  settingsFields(): [string, string][] {
    return [
      ['AMIversion', this.amiVersion],
      ['AsteriskVersion', this.asteriskVersion],
      ['SystemName', 'mikopbx'],
      ['CoreMaxCalls', '0'],
      ['CoreMaxLoadAvg', '0.000000'],
      ['CoreRunUser', 'www'],
      ['CoreRunGroup', 'www'],
      ['CoreMaxFilehandles', '0'],
      ['CoreRealTimeEnabled', 'No'],
      ['CoreCDRenabled', 'Yes'],
      ['CoreHTTPenabled', 'Yes'],
      ['SoundsSearchCustomDir', 'No'],
    ];
  }

  truth(): CoreTruth {
    return {
      startTimeSeconds: Math.floor(this.startMs / 1000),
      reloadTimeSeconds: Math.floor(this.reloadMs / 1000),
      currentCalls: this.currentCalls(),
      processedCalls: this.processedCalls,
      processedCallsTotal: this.processedCallsTotal,
      asteriskVersion: this.asteriskVersion,
    };
  }
}
