// Initial PBX content: extensions with devices and providers, deterministic per seed.

import type { Rng } from './random.js';
import type { Device, Extension, ExtensionStatus, Provider, RegistrationType, ProviderType } from './types.js';
import { rawV3State } from './provider-states.js';

// Names that exercise escaping: quotes, backslash, Cyrillic, accents, CJK.
const FIXED_NAMES = ['Alice Smith', 'Bob Jones', 'Reception', 'Алиса Петрова', 'Patrick O\'Brien "Paddy"', 'Back\\slash Support', 'José Núñez', '王芳'];
const FIRST = ['Anna', 'Boris', 'Chen', 'Dmitry', 'Elena', 'Farid', 'Grace', 'Hugo', 'Irina', 'Jamal', 'Kate', 'Leo'];
const LAST = ['Ivanov', 'Miller', 'Novak', 'Sato', 'Garcia', 'Kowalski', 'Smirnova', 'Brown', 'Rossi', 'Kim'];

const DESK_AGENTS = [
  'Yealink SIP-T46U 108.86.0.45',
  'Yealink SIP-T54W 96.86.0.100',
  'Grandstream GXP2170 1.0.11.23',
  'Snom D785/10.1.141.13',
  'MicroSIP/3.21.3',
  'Zoiper rv2.10.19.8',
  'Linphone Desktop/5.2.4 (Windows 10) LinphoneCore/5.3.41',
  'Telephone-PT1C 1.1',
];

export function extensionNumber(index: number, total: number): string {
  return total <= 699 ? String(201 + index) : String(10000 + index);
}

export function makeDevices(rng: Rng, status: ExtensionStatus): Device[] {
  if (status === 'Unavailable') return [];
  if (status === 'Unknown') {
    return [
      {
        ip: `192.168.1.${rng.int(20, 250)}`,
        port: 5060,
        user_agent: rng.pick(DESK_AGENTS),
        rtt: null,
        country: 'LOCAL',
        countryName: 'Local/Private Network',
        webrtc: false,
        contactStatus: 'Unknown',
      },
    ];
  }
  const nonQualified = rng.chance(0.1);
  const devices: Device[] = [
    {
      ip: `192.168.1.${rng.int(20, 250)}`,
      port: rng.pick([5060, 5062, 5064, rng.int(20000, 60000)]),
      user_agent: rng.pick(DESK_AGENTS),
      rtt: nonQualified ? null : Math.round(rng.int(100, 8000)) / 100,
      country: 'LOCAL',
      countryName: 'Local/Private Network',
      webrtc: false,
      contactStatus: nonQualified ? 'NonQualified' : 'Reachable',
    },
  ];
  if (rng.chance(0.25)) {
    devices.push({
      ip: `203.0.113.${rng.int(2, 250)}`,
      port: rng.int(30000, 60000),
      user_agent: 'MikoPBX WebRTC 2026.1',
      rtt: null,
      country: 'NL',
      countryName: 'Netherlands',
      webrtc: true,
      contactStatus: 'NonQualified',
    });
  }
  return devices;
}

function nameFor(rng: Rng, i: number): string {
  const fixed = FIXED_NAMES[i];
  if (fixed !== undefined) return fixed;
  return `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
}

function emailFor(name: string, number: string): string {
  const ascii = name
    .toLowerCase()
    .replace(/[^a-z]+/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return ascii === '' ? `ext${number}@example.com` : `${ascii}@example.com`;
}

export function seedExtensions(rng: Rng, count: number): Extension[] {
  const out: Extension[] = [];
  for (let i = 0; i < count; i++) {
    const number = extensionNumber(i, count);
    const slot = i % 10;
    let status: ExtensionStatus;
    if (slot === 3 || slot === 7) status = 'Unavailable';
    else if (slot === 5) status = 'Unknown';
    else status = 'Available';
    const callerid = nameFor(rng, i);
    out.push({
      number,
      callerid,
      email: rng.chance(0.6) ? emailFor(callerid, number) : '',
      mobile: rng.chance(0.4) ? `7916${rng.digits(7)}` : '',
      status,
      devices: makeDevices(rng, status),
      disabled: false,
      employeeId: i + 3,
    });
  }
  return out;
}

interface ProviderTemplate {
  type: ProviderType;
  registration_type: RegistrationType;
  idStyle: 'trunk' | 'provider' | 'unix';
  state: string;
  disabled?: boolean;
  description: string;
  host: string;
}

const FIXED_PROVIDERS: ProviderTemplate[] = [
  { type: 'sip', registration_type: 'outbound', idStyle: 'trunk', state: 'registered', description: 'Carrier One', host: 'sip.carrier-one.example' },
  { type: 'iax', registration_type: 'outbound', idStyle: 'trunk', state: 'registered', description: 'HQ link', host: 'iax.hq.example' },
  { type: 'sip', registration_type: 'inbound', idStyle: 'provider', state: 'REGISTERED', description: 'Branch office (inbound registration)', host: '' },
  { type: 'sip', registration_type: 'outbound', idStyle: 'unix', state: 'OFF', disabled: true, description: 'Old trunk', host: 'old.pbx.example' },
];

function generatedTemplate(rng: Rng, i: number): ProviderTemplate {
  const r = rng.next();
  const description = i % 17 === 0 ? `Оператор "Связь" №${i}` : `Carrier ${i}`;
  const host = `sip${i}.carrier.example`;
  if (r < 0.08)
    return {
      type: 'iax',
      registration_type: rng.chance(0.5) ? 'none' : 'outbound',
      idStyle: 'trunk',
      state: rng.chance(0.5) ? 'OK' : 'registered',
      description,
      host: `iax${i}.carrier.example`,
    };
  if (r < 0.16) return { type: 'sip', registration_type: 'none', idStyle: 'trunk', state: 'OK', description, host };
  if (r < 0.22)
    return { type: 'sip', registration_type: 'inbound', idStyle: 'provider', state: rng.chance(0.8) ? 'REGISTERED' : 'UNREGISTERED', description, host: '' };
  if (r < 0.26) return { type: 'sip', registration_type: 'outbound', idStyle: 'trunk', state: 'rejected', description, host };
  if (r < 0.29) return { type: 'sip', registration_type: 'outbound', idStyle: 'trunk', state: 'unreachable', description, host };
  if (r < 0.31) return { type: 'sip', registration_type: 'outbound', idStyle: 'trunk', state: 'lagged', description, host };
  if (r < 0.33) return { type: 'sip', registration_type: 'outbound', idStyle: 'unix', state: 'unregistered', description, host };
  return { type: 'sip', registration_type: 'outbound', idStyle: 'trunk', state: 'registered', description, host };
}

export function seedProviders(rng: Rng, count: number, nowSec: number): Provider[] {
  const out: Provider[] = [];
  const used = new Set<string>();
  let unixBase = 1686130546;
  for (let i = 0; i < count; i++) {
    const t = FIXED_PROVIDERS[i] ?? generatedTemplate(rng, i);
    const prefix = t.type === 'sip' ? 'SIP' : 'IAX';
    const makeId = (): string => {
      if (t.idStyle === 'trunk') return `${prefix}-TRUNK-${rng.hex(8, true)}`;
      if (t.idStyle === 'provider') return `${prefix}-PROVIDER-${rng.hex(16, true)}`;
      return `${prefix}-${unixBase++}`;
    };
    let id = makeId();
    while (used.has(id)) id = makeId();
    used.add(id);
    const disabled = t.disabled === true;
    const state = disabled ? 'OFF' : rawV3State(t, t.state);
    const success = /^(registered|ok)$/i.test(state);
    const stateStartTime = nowSec - rng.int(600, 3 * 86400);
    out.push({
      id,
      type: t.type,
      registration_type: t.registration_type,
      state,
      disabled,
      host: t.host,
      username: t.registration_type === 'inbound' ? `branch-${i}` : `7495${rng.digits(7)}`,
      description: t.description,
      port: t.type === 'iax' ? 4569 : 5060,
      transport: 'udp',
      did: `7495${rng.digits(7)}`,
      rtt: success ? rng.int(5, 90) : null,
      stateStartTime,
      lastSuccessTime: success ? null : stateStartTime - rng.int(60, 3600),
    });
  }
  return out;
}
