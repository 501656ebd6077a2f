// Payload builders shared by the v3 and legacy routers: PBX state rendered the way each action does.

import type { LiveView, PbxModel } from './model.js';
import { extensionRtt } from './model.js';
import { legEnd } from './calls.js';
import { isSuccessState, legacyIaxRegistryState, legacySipRegistryState, stateText } from './provider-states.js';
import type { Extension, Provider } from './types.js';

export function extensionStatusObject(ext: Extension): Record<string, unknown> {
  return {
    extension: ext.number,
    callerid: ext.callerid,
    status: ext.status,
    devices: ext.devices.map((d) => ({
      ip: d.ip,
      port: d.port,
      user_agent: d.user_agent,
      rtt: d.rtt,
      country: d.country,
      countryName: d.countryName,
    })),
    rtt: extensionRtt(ext),
  };
}

/** sip:getStatuses data: object keyed by extension number (the envelope turns {} into []) */
export function extensionStatuses(model: PbxModel, simplified: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ext of model.extensions()) {
    if (ext.disabled) continue;
    out[ext.number] = simplified ? { extension: ext.number, status: ext.status } : extensionStatusObject(ext);
  }
  return out;
}

const OK_V3 = new Set(['Not in use', 'In use', 'Busy', 'Ringing']);
const OK_LEGACY = new Set(['Not in use', 'Busy']);

/** v3 sip:getPeersStatuses: every PJSIP endpoint, incl. NNN-WS and trunks */
export function peersStatusesV3(model: PbxModel, view: LiveView): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const row = (id: string, ds: string): Record<string, string> => ({ id, state: OK_V3.has(ds) ? 'OK' : 'UNKNOWN', 'detailed-state': ds });
  for (const ext of model.extensions()) {
    if (ext.disabled) continue;
    out.push(row(ext.number, model.deviceState(ext, view)));
    out.push(row(`${ext.number}-WS`, model.wsDeviceState(ext, view)));
  }
  for (const p of model.providers()) {
    if (p.type === 'sip' && !p.disabled) out.push(row(p.id, model.providerDeviceState(p, view)));
  }
  return out;
}

/** legacy sip/getPeersStatuses: `NNN` and `NNN-WS` collapse (OK wins); OK only for Not in use / Busy */
export function peersStatusesLegacy(model: PbxModel, view: LiveView): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const ext of model.extensions()) {
    if (ext.disabled) continue;
    const ok = OK_LEGACY.has(model.deviceState(ext, view)) || OK_LEGACY.has(model.wsDeviceState(ext, view));
    out.push({ id: ext.number, state: ok ? 'OK' : 'UNKNOWN' });
  }
  for (const p of model.providers()) {
    if (p.type === 'sip' && !p.disabled) out.push({ id: p.id, state: OK_LEGACY.has(model.providerDeviceState(p, view)) ? 'OK' : 'UNKNOWN' });
  }
  return out;
}

/** sip/getRegistry (legacy) = sip:getRegistry (v3) */
export function sipRegistry(model: PbxModel): Record<string, string>[] {
  return model
    .providers()
    .filter((p) => p.type === 'sip')
    .map((p) => {
      const state = legacySipRegistryState(p);
      if (!p.disabled && p.registration_type === 'outbound') return { id: p.id, state, host: p.host, username: p.username };
      return { state, id: p.id, username: p.username, host: p.host };
    });
}

export function iaxRegistry(model: PbxModel): Record<string, string>[] {
  return model
    .providers()
    .filter((p) => p.type === 'iax')
    .map((p) => {
      const row: Record<string, string> = {
        state: legacyIaxRegistryState(p),
        id: p.id,
        username: p.username,
        host: p.host,
        noregister: p.registration_type === 'none' ? '1' : '0',
      };
      if (p.registration_type === 'none') row['time-response'] = p.rtt !== null && !p.disabled ? String(p.rtt) : 'N/A';
      return row;
    });
}

const FAILURE = new Set(['rejected', 'unreachable', 'lagged', 'unregistered', 'unknown']);

/** Providers/AbstractProviderStatusAction::buildStatusData */
export function providerStatusObject(p: Provider, nowSec: number): Record<string, unknown> {
  const st = stateText(p.state);
  let color = st.color;
  if (color === 'green' && p.rtt !== null && p.rtt > 100) color = 'yellow';
  const duration = Math.max(0, nowSec - p.stateStartTime);
  const out: Record<string, unknown> = {
    id: p.id,
    type: p.type,
    state: p.state,
    stateText: st.text,
    stateColor: color,
    stateDescription: st.description,
    host: p.host,
    username: p.username,
    description: p.description,
    lastUpdate: nowSec,
    lastChange: p.stateStartTime,
    rtt: p.disabled ? null : p.rtt,
    stateDuration: duration,
    stateStartTime: p.stateStartTime,
  };
  const lower = p.state.toLowerCase();
  if (isSuccessState(p.state)) {
    if (p.type === 'sip') out.contactStatus = 'Reachable';
    if (p.registration_type === 'inbound') out.registrationDetails = 'Registered with 198.51.100.7:5060';
    if (p.type === 'iax' && p.registration_type === 'none') out.peerAddress = `${p.host}:${p.port}`;
    if (p.type === 'iax' && p.registration_type === 'outbound') out.refreshInterval = '60';
    out.successDuration = duration;
  } else if (FAILURE.has(lower)) {
    out.failureDuration = duration;
    if (p.lastSuccessTime !== null) {
      out.lastSuccessTime = p.lastSuccessTime;
      out.timeSinceLastSuccess = Math.max(0, nowSec - p.lastSuccessTime);
    }
  }
  return out;
}

/** providers:getStatuses: {sip:{id:…}, iax:{id:…}} incl. disabled (OFF) */
export function providerStatuses(model: PbxModel, nowSec: number): { sip: Record<string, unknown>; iax: Record<string, unknown> } {
  const out = { sip: {} as Record<string, unknown>, iax: {} as Record<string, unknown> };
  for (const p of model.providers()) out[p.type][p.id] = providerStatusObject(p, nowSec);
  return out;
}

/** sip-providers list (Providers/DataStructure::createForList), SIP and IAX, ordered by type, note */
export function providerList(model: PbxModel, includeDisabled: boolean): Record<string, unknown>[] {
  return model
    .providers()
    .filter((p) => includeDisabled || !p.disabled)
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.type === b.p.type ? a.i - b.i : a.p.type === 'iax' ? -1 : 1))
    .map(({ p }) => {
      const label = p.type === 'sip' ? 'SIP' : 'IAX';
      const row: Record<string, unknown> = {
        id: p.id,
        represent: `<i class="server icon"></i> ${label}: ${p.description}`,
        type: label,
        note: '',
        disabled: p.disabled,
        username: p.username,
        host: p.host,
        registration_type: p.registration_type,
      };
      if (p.type === 'sip') row.transport = p.transport;
      row.port = p.port;
      row.statusClass = p.disabled ? 'disabled' : '';
      row.search_index = `${p.username} ${p.host}`.trim();
      return row;
    });
}

/** rows of the temp `cdr` table (getActiveCalls); legacy has no names */
export function activeCallRows(model: PbxModel, view: LiveView, legacy: boolean): Record<string, string>[] {
  const c = model.clock;
  return view.tempLegs.map(({ call, leg }) => {
    const end = legEnd(call, leg);
    const row: Record<string, string> = {
      start: c.local(leg.start),
      answer: leg.answer !== null && leg.answer <= view.at ? c.local(leg.answer) : '',
      endtime: end !== null && end <= view.at ? c.local(end) : '',
      src_num: leg.src_num,
    };
    if (!legacy) row.src_name = leg.src_name;
    row.dst_num = leg.dst_num;
    if (!legacy) row.dst_name = leg.dst_name;
    row.did = leg.did;
    row.linkedid = call.linkedid;
    return row;
  });
}

/** live legs with their channel names (getActiveChannels) */
export function activeChannelRows(model: PbxModel, view: LiveView, legacy: boolean): Record<string, string>[] {
  const c = model.clock;
  return view.liveLegs.map(({ call, leg }) => {
    const row: Record<string, string> = {
      start: c.local(leg.start),
      answer: leg.answer !== null && leg.answer <= view.at ? c.local(leg.answer) : '',
      src_chan: leg.src_chan,
      dst_chan: leg.dst_chan,
      src_num: leg.src_num,
    };
    if (!legacy) row.src_name = leg.src_name;
    row.dst_num = leg.dst_num;
    if (!legacy) row.dst_name = leg.dst_name;
    row.did = leg.did;
    row.linkedid = call.linkedid;
    return row;
  });
}

const AVATAR = '/admin-cabinet/assets/img/unknownPerson.jpg';

export function employeeRow(ext: Extension): Record<string, unknown> {
  return {
    id: ext.employeeId,
    number: ext.number,
    user_username: ext.callerid,
    user_email: ext.email,
    mobile: ext.mobile,
    avatar: AVATAR,
    disabled: ext.disabled,
  };
}
