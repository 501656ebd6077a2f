import type { AmiReply } from './connection.js';
import { fieldsOf } from './fields.js';
import type { CoreSettings, CoreStatus } from './types.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}:\d{2}$/;

/** CoreStatus: the single response frame. */
export function parseCoreStatus(reply: AmiReply): CoreStatus {
  const f = fieldsOf(reply.response, 'CoreStatus');
  const processed = f.optionalInt('CoreProcessedCalls');
  return {
    startupDate: f.matching('CoreStartupDate', DATE, 'a date YYYY-MM-DD'),
    startupTime: f.matching('CoreStartupTime', TIME, 'a time HH:MM:SS'),
    reloadDate: f.matching('CoreReloadDate', DATE, 'a date YYYY-MM-DD'),
    reloadTime: f.matching('CoreReloadTime', TIME, 'a time HH:MM:SS'),
    currentCalls: f.int('CoreCurrentCalls'),
    processedCalls: processed !== null && processed >= 0 ? processed : null,
  };
}

/** CoreSettings: the single response frame. */
export function parseCoreSettings(reply: AmiReply): CoreSettings {
  const f = fieldsOf(reply.response, 'CoreSettings');
  return {
    amiVersion: f.text('AMIversion'),
    asteriskVersion: f.matching('AsteriskVersion', /^\S{1,64}$/, 'a version'),
    systemName: f.optionalText('SystemName'),
    maxCalls: f.int('CoreMaxCalls'),
    maxLoadAvg: f.decimal('CoreMaxLoadAvg'),
    runUser: f.optionalText('CoreRunUser'),
    runGroup: f.optionalText('CoreRunGroup'),
    maxFileHandles: f.int('CoreMaxFilehandles'),
    realtimeEnabled: f.yesNo('CoreRealTimeEnabled'),
    cdrEnabled: f.yesNo('CoreCDRenabled'),
    httpEnabled: f.yesNo('CoreHTTPenabled'),
  };
}
